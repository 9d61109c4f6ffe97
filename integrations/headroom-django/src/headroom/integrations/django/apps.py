"""The Django app: add ``"headroom.integrations.django"`` to ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class HeadroomConfig(AppConfig):  # type: ignore[misc]  # (Django ships no types)
    """Registers the ``settings.HEADROOM`` system check (tag ``headroom``)."""

    name = "headroom.integrations.django"
    label = "headroom"
    verbose_name = "Headroom"
    default = True

    def ready(self) -> None:
        from headroom.integrations.django.checks import check_settings

        checks.register(check_settings, "headroom")
