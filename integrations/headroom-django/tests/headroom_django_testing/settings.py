"""In-process test settings (DJANGO_SETTINGS_MODULE for the tests' own process)."""

from __future__ import annotations

from pathlib import Path

from headroom_django_testing.squeeze import Squeeze

SECRET_KEY = "headroom-django-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles", "headroom.integrations.django"]
MIDDLEWARE = ["headroom.integrations.django.middleware.HeadroomMiddleware"]
ROOT_URLCONF = "headroom_django_testing.urls"
STATIC_URL = "/static/"
STATIC_DIR = Path(__file__).parent / "static"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
HEADROOM = {"transforms": [Squeeze(), "tags"]}
