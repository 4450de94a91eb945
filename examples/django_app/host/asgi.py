"""The ASGI application (``uvicorn host.asgi:application``): one event loop for the core."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "host.settings")
application = get_asgi_application()
