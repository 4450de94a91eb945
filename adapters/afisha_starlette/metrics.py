"""Prometheus metrics: requests and latency per route, and what waits for the worker.

Request metrics are counted in the process that answered. Under ``afisha serve
--workers N`` each worker writes them to files in ``PROMETHEUS_MULTIPROC_DIR`` (set by
the command before the workers start) and a scrape of any worker reads all of them, so
``/metrics`` counts the requests of every process. The backlog gauges (outbox, reminder
lag) are read from the database at scrape time, so they are the same whichever process
answers.

Webhooks do not exist yet, so there is no webhook-failure metric.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "REQUESTS", "REQUEST_SECONDS", "Backlog", "observe", "render"]

#: The media type of the Prometheus text format.
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Reads the backlog figures (see ``SqliteDatabase.backlog``) for the gauges.
Backlog = Callable[[], Awaitable[Mapping[str, float]]]

REQUESTS = Counter(
    "afisha_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=None,
)
REQUEST_SECONDS = Histogram(
    "afisha_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)

_GAUGES = {
    "outbox_pending": ("afisha_outbox_pending", "Mails waiting in the outbox."),
    "outbox_oldest_pending_seconds": (
        "afisha_outbox_oldest_pending_age_seconds",
        "Age of the oldest mail waiting in the outbox (0 when none waits).",
    ),
    "reminder_lag_seconds": (
        "afisha_reminder_lag_seconds",
        "How long the most overdue reminder has been due (0 when none is).",
    ),
    "webhook_deliveries_retrying": (
        "afisha_webhook_deliveries_retrying",
        "Webhook deliveries that failed at least once and will be tried again.",
    ),
    "webhook_deliveries_failed": (
        "afisha_webhook_deliveries_failed",
        "Webhook deliveries given up after the whole retry schedule.",
    ),
    "webhooks_disabled": (
        "afisha_webhooks_disabled",
        "Webhooks disabled after a day of failures.",
    ),
}


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    REQUESTS.labels(method, route, str(status)).inc()
    REQUEST_SECONDS.labels(method, route).observe(seconds)


class _Snapshot(Collector):
    """Gauges from figures read just before the scrape."""

    def __init__(self, figures: Mapping[str, float], up: bool) -> None:
        self._figures = figures
        self._up = up

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "afisha_backlog_readable", "1 when the backlog figures could be read from the database."
        )
        up.add_metric([], 1.0 if self._up else 0.0)
        yield up
        for key, (name, documentation) in _GAUGES.items():
            if key in self._figures:
                gauge = GaugeMetricFamily(name, documentation)
                gauge.add_metric([], float(self._figures[key]))
                yield gauge


async def render(backlog: Backlog | None) -> bytes:
    """The scrape: request metrics of every process, and the backlog gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus-client: no annotation here
    else:
        registry.register(REQUESTS)
        registry.register(REQUEST_SECONDS)
    figures: Mapping[str, float] = {}
    up = backlog is not None
    if backlog is not None:
        try:
            figures = await backlog()
        except Exception:  # the database is down: say so in a gauge, /readyz tells more
            up = False
    registry.register(_Snapshot(figures, up))
    return generate_latest(registry)
