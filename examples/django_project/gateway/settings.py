"""Settings of the Headroom gateway example: an LLM gateway whose requests Headroom compresses."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "headroom.integrations.django",  # validates HEADROOM in `manage.py check`
]

# Wired both ways: under asgi.py the Headroom ASGI middleware compresses and HeadroomMiddleware stands
# aside; under wsgi.py (or asgi_plain.py) HeadroomMiddleware does the work. Keep it above any middleware
# that reads the request body. No CsrfViewMiddleware: an API gateway with no cookies or forms.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "headroom.integrations.django.middleware.HeadroomMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "gateway.urls"
WSGI_APPLICATION = "gateway.wsgi.application"
ASGI_APPLICATION = "gateway.asgi.application"  # used by Daphne's / Channels' runserver

DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
STATIC_URL = "static/"
STATIC_DIR = BASE_DIR / "static"

# Agents send big prompts: allow 16 MiB bodies (Django's default is 2.5 MiB). Headroom never reads more
# than this; larger bodies fail in Django as usual (400).
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024

# Headroom's config: a dict in ProxyConfig's schema (or a ProxyConfig, or a path to a JSON/TOML/YAML file;
# unset = HEADROOM_CONFIG / HEADROOM_* from the environment). HEADROOM_* variables override it, e.g.
# HEADROOM_ENABLED=false.
HEADROOM = {
    "transforms": ["search", "router", "tags"],
    "limits": {"deadline_ms": 500},
    "telemetry": {"log_level": "INFO"},  # one content-free JSON summary per LLM request
}

# Where the gateway forwards: one base URL for every route (GATEWAY_UPSTREAM), or the providers' own.
GATEWAY_UPSTREAM = os.environ.get("GATEWAY_UPSTREAM", "")
PROVIDERS = {
    "/v1/messages": "https://api.anthropic.com",
    "/v1/chat/completions": "https://api.openai.com",
    "/v1/responses": "https://api.openai.com",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"headroom": {"handlers": ["console"]}},  # level: HEADROOM["telemetry"]["log_level"]
}
