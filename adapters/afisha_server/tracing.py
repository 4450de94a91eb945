"""Optional OpenTelemetry tracing: a span per HTTP request and per PostgreSQL statement.

(SQLite statements are not traced: the adapter runs them with ``Connection.execute``,
which OpenTelemetry's sqlite3 instrumentation does not see.)

Installed with the ``otel`` extra and switched on by ``AFISHA_TRACING=true`` or by
``OTEL_EXPORTER_OTLP_ENDPOINT`` (the standard ``OTEL_*`` variables configure the
exporter: endpoint, headers, service name). Without the extra nothing is imported
and nothing changes.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from starlette.applications import Starlette

__all__ = ["instrument_databases", "setup_tracing", "tracing_available"]

logger = logging.getLogger("afisha")

_instrumented = False
_default_provider: Any | None = None


def tracing_available() -> bool:
    """Whether the ``otel`` extra is installed."""
    try:
        import opentelemetry.instrumentation.asgi  # noqa: PLC0415
        import opentelemetry.sdk.trace  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _provider(provider: Any | None) -> Any | None:
    """``provider``, or one exporting over OTLP/HTTP when an endpoint is configured."""
    global _default_provider  # noqa: PLW0603 - one exporter per process
    if provider is not None or not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return provider
    if _default_provider is None:
        from opentelemetry import trace  # noqa: PLC0415
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

        made = TracerProvider(
            resource=Resource.create(
                {"service.name": os.environ.get("OTEL_SERVICE_NAME", "afisha")}
            )
        )
        made.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(made)
        _default_provider = made
    return _default_provider


def instrument_databases(provider: Any | None = None) -> bool:
    """Trace every psycopg (PostgreSQL) statement (once per process).

    Connections opened before this call are not traced: call it before the runtime
    is built. Returns ``False`` (after a warning) when the ``otel`` extra is missing.
    """
    global _instrumented  # noqa: PLW0603 - database drivers are instrumented once per process
    if not tracing_available():
        logger.warning("tracing asked for, but the otel extra is not installed: no spans")
        return False
    if _instrumented:
        return True
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor  # noqa: PLC0415

    provider = _provider(provider)
    PsycopgInstrumentor().instrument(tracer_provider=provider, enable_commenter=False)
    _instrumented = True
    return True


def setup_tracing(app: Starlette, provider: Any | None = None) -> bool:
    """Trace ``app``'s requests, and the database statements (:func:`instrument_databases`).

    ``provider`` is an OpenTelemetry ``TracerProvider`` (tests give one with an
    in-memory exporter); by default one exporting over OTLP/HTTP is made when
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else the global provider is used.
    Returns ``False`` (after a warning) when the ``otel`` extra is missing.
    """
    if not instrument_databases(provider):
        return False
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: PLC0415

    app.add_middleware(
        OpenTelemetryMiddleware,
        tracer_provider=_provider(provider),
        exclude_spans=["receive", "send"],
    )
    return True
