"""Settings of the example host project.

Django keeps the host's own data in its own database (``DATABASES``, SQLite here);
Afisha keeps its tables in PostgreSQL, in the schema named by ``?schema=`` in
``AFISHA_DATABASE_URL`` (default ``afisha``), so its ``users`` never meet the host's.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("HOST_DATA_DIR", BASE_DIR / "data"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "only-for-the-example")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "afisha_events"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "host.urls"
ASGI_APPLICATION = "host.asgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "host.sqlite3"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AFISHA_DATABASE_URL = os.environ.get(
    "AFISHA_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres?schema=afisha"
)
AFISHA_PUBLIC_URL = os.environ.get("AFISHA_PUBLIC_URL", "http://127.0.0.1:8000")
