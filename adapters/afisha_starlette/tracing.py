"""Optional OpenTelemetry tracing: a span per HTTP request and per database statement.

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

__all__ = ["setup_tracing", "tracing_available"]

logger = logging.getLogger("afisha")

_instrumented = False


def tracing_available() -> bool:
    """Whether the ``otel`` extra is installed."""
    try:
        import opentelemetry.instrumentation.asgi  # noqa: PLC0415
        import opentelemetry.sdk.trace  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def setup_tracing(app: Starlette, provider: Any | None = None) -> bool:
    """Trace ``app``'s requests and every psycopg and sqlite3 statement.

    ``provider`` is an OpenTelemetry ``TracerProvider`` (tests give one with an
    in-memory exporter); by default one exporting over OTLP/HTTP is made when
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else the global provider is used.
    Returns ``False`` (after a warning) when the ``otel`` extra is missing.
    """
    global _instrumented  # noqa: PLW0603 - database drivers are instrumented once per process
    if not tracing_available():
        logger.warning("tracing asked for, but the otel extra is not installed: no spans")
        return False
    from opentelemetry import trace  # noqa: PLC0415
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: PLC0415
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor  # noqa: PLC0415
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor  # noqa: PLC0415

    if provider is None and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
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
        provider = made
    app.add_middleware(
        OpenTelemetryMiddleware,
        tracer_provider=provider,
        exclude_spans=["receive", "send"],
    )
    if not _instrumented:
        PsycopgInstrumentor().instrument(tracer_provider=provider, enable_commenter=False)
        SQLite3Instrumentor().instrument(tracer_provider=provider)
        _instrumented = True
    return True
