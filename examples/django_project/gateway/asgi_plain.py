"""Django's own ASGI application, with Headroom only through ``MIDDLEWARE`` (HeadroomMiddleware, async).

``uvicorn gateway.asgi_plain:application``: for projects that prefer the middleware to the ASGI wrapper.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

application = get_asgi_application()
