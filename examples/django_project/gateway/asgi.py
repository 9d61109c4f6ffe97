"""ASGI entry point: ``uvicorn gateway.asgi:application``, ``daphne gateway.asgi:application``, or
``ASGI_APPLICATION`` under Daphne's/Channels' runserver.

Headroom's drop-in for ``django.core.asgi.get_asgi_application``: Django's application behind the Headroom
ASGI middleware, configured by ``settings.HEADROOM``.
"""

import os

from headroom.integrations.django import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

application = get_asgi_application()
