"""System checks (``manage.py check``, run by runserver and migrate) for ``settings.HEADROOM``.

IDs: ``headroom.E001`` the setting has the wrong type, ``headroom.E002`` a key fails validation (the message
names it, e.g. ``HEADROOM['limits']['deadline_ms']``), ``headroom.E003`` the config file cannot be read.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error

from headroom.integrations.django.conf import SETTING, HeadroomConfigError, load_config

HINTS = {
    "headroom.E001": "Set HEADROOM to a dict in ProxyConfig's schema, a ProxyConfig or a config file path.",
    "headroom.E002": "See `headroom config schema` for the keys, types and bounds HEADROOM accepts; "
    "HEADROOM_* environment variables override the setting.",
    "headroom.E003": "Check that the config file exists and is valid JSON, TOML or YAML.",
}


def check_settings(app_configs: list[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """One error per problem in ``settings.HEADROOM``; none when it makes a valid config."""
    try:
        load_config(getattr(settings, SETTING, None))
    except HeadroomConfigError as exc:
        return [Error(str(p), hint=HINTS.get(p.id), obj=SETTING, id=p.id) for p in exc.problems]
    return []


__all__ = ["check_settings"]
