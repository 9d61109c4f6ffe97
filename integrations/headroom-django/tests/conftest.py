"""Django is configured once for the tests' own process, from headroom_django_testing.settings."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headroom_django_testing.settings")
for key in [k for k in os.environ if k.startswith("HEADROOM_")]:
    del os.environ[key]  # the tests set the config themselves
django.setup()
