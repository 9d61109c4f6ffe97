"""WSGI entry point (gunicorn, mod_wsgi, ``manage.py runserver``): Headroom works through MIDDLEWARE."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

application = get_wsgi_application()
