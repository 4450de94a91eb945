# syntax=docker/dockerfile:1
#
# The Afisha application image: `afisha serve` by default; the same image runs
# `afisha worker`, `afisha migrate` and `afisha create-admin` (see docker-compose.yml).
#
#   docker build -t afisha:local .
#   docker run --rm -p 8080:8080 afisha:local          # SQLite and local files, in the container
#
# Two stages. The first builds the project's wheel and collects the wheels of every
# dependency of the `server` extra; the second installs them from that folder only
# (--no-index), so the final image holds no compiler, no build tool and no source tree.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# --- build: the wheel of this project, and the wheels of its dependencies ------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m pip install "build>=1.2"

# Only what the wheel is made of (see .dockerignore): a change to the tests or the
# docs does not invalidate the layers below.
COPY pyproject.toml README.md LICENSE ./
COPY afisha_core/ afisha_core/
COPY adapters/ adapters/
COPY migrations/ migrations/

# Two distributions: afisha-core (the library) and afisha-server (the adapters and the
# `afisha` command; adapters/migrations links to ../migrations).
RUN python -m build --wheel --outdir /wheels . \
 && python -m build --wheel --outdir /wheels adapters \
 && python -m pip wheel --wheel-dir /wheels --only-binary=:all: --find-links=/wheels \
        "$(ls /wheels/afisha_server-*.whl)[server]"

# --- runtime: slim Python, the installed wheels, an unprivileged user ----------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# The wheels are bind-mounted from the build stage, so none of them stays in a layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links=/wheels "afisha-server[server]" \
 && groupadd --system --gid 10001 afisha \
 && useradd --system --uid 10001 --gid afisha --home-dir /app --create-home \
        --shell /usr/sbin/nologin afisha

# /app/afisha-data holds the SQLite file, media and .eml outbox when nothing else is
# configured; in the compose deployment PostgreSQL, MinIO and SMTP are used instead.
WORKDIR /app
USER 10001:10001

EXPOSE 8080

# Exec form: `afisha` is PID 1 and gets SIGTERM itself (uvicorn and the worker both
# shut down gracefully on it).
CMD ["afisha", "serve", "--host", "0.0.0.0"]
