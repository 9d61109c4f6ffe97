"""example_settings with Daphne's runserver (ASGI_APPLICATION = "gateway.asgi.application")."""

from __future__ import annotations

from headroom_django_testing.example_settings import *  # noqa: F403
from headroom_django_testing.example_settings import INSTALLED_APPS

INSTALLED_APPS = ["daphne", *INSTALLED_APPS]
