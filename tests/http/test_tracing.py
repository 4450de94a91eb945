"""OpenTelemetry tracing (the ``otel`` extra): a span per request and per SQL statement.

The app is the one ``afisha serve`` runs (``afisha_server.asgi.create_app``) on
PostgreSQL (psycopg is instrumented; SQLite statements run through ``Connection.execute``,
which OpenTelemetry's sqlite3 instrumentation does not see); spans go to the SDK's
in-memory exporter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from afisha_server import tracing
from afisha_server.asgi import create_app
from afisha_server.bootstrap import build_runtime
from afisha_server.config import ServerConfig
from tests.support.pg import fresh_schema


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    yield memory
    # The drivers are instrumented process-wide: put them back for the other tests.
    PsycopgInstrumentor().uninstrument()
    tracing._instrumented = False  # the module's own once-per-process flag


async def test_requests_and_database_statements_become_spans(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with fresh_schema() as (url, schema):
        options = quote(f"-csearch_path={schema}")
        separator = "&" if "?" in url else "?"
        config = ServerConfig.from_env(
            {"AFISHA_DATA_DIR": str(tmp_path),
             "AFISHA_DATABASE_URL": f"{url}{separator}options={options}"}
        )  # fmt: skip
        response = await _get_events(config, provider)

    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind.name == "SERVER"]
    assert server, [s.name for s in spans]
    assert "GET" in server[0].name
    database = [s for s in spans if (s.attributes or {}).get("db.system") == "postgresql"]
    assert database, [s.name for s in spans]
    statements = [str((s.attributes or {}).get("db.statement", "")) for s in database]
    assert any("FROM events" in text for text in statements), statements
    http_span = server[0].context.span_id
    inside = [s for s in database if s.parent is not None and s.parent.span_id == http_span]
    assert inside, "the request's statements are children of its span"


async def _get_events(config: ServerConfig, provider: TracerProvider) -> httpx.Response:
    assert tracing.instrument_databases(provider)  # before the database is opened
    runtime = await build_runtime(config)
    try:
        app = create_app(config, runtime=runtime)
        assert tracing.setup_tracing(app, provider)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/v1/events")
    finally:
        await runtime.aclose()
    return response
