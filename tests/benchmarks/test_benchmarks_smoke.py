"""Every benchmark scenario runs once on tiny data, so the benchmarks keep working.

Nothing here is timed: the assertions are about what the benchmarks report (rows,
summaries, no errors, exactly the capacity joined), never about how fast it went.
The numbers live in docs/performance.md, from ``python -m benchmarks.run``.
"""

from __future__ import annotations

import asyncio
import json
import math
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from afisha_core.settings import Settings
from benchmarks import driver, inprocess, reminder_tick, run, seed
from benchmarks import scenarios as sc
from benchmarks.servers import afisha_server, available_stack, baseline_server
from tests.support.services import require_postgres, require_redis


@pytest.fixture(scope="module")
def services() -> None:
    require_postgres()
    require_redis()


@pytest.fixture(scope="module")
def tiny_database(services: None) -> Iterator[tuple[str, seed.SeedSpec]]:
    name = f"afisha_bench_smoke{uuid.uuid4().hex[:8]}"
    spec = seed.SeedSpec(events=300, users=120, due_events=4, due_per_event=5)
    url = asyncio.run(seed.prepare(name))
    try:
        report = seed.fill(url, spec)
        assert report.events == 304
        assert report.due_participations == 20
        yield url, spec
    finally:
        seed.drop_database(name)


def _get(port: int, path: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def test_seeding_is_deterministic(services: None) -> None:
    spec = seed.SeedSpec(events=50, users=20, seed=3)
    assert seed.user_ids(spec) == seed.user_ids(spec)
    assert seed.user_ids(spec) != seed.user_ids(seed.SeedSpec(events=50, users=20, seed=4))
    assert seed.password_hash(3) == seed.password_hash(3)


def test_the_baseline_answers_with_the_same_json(tiny_database: tuple[str, seed.SeedSpec]) -> None:
    url, spec = tiny_database
    with afisha_server(url) as afisha, baseline_server(url) as baseline:
        first = _get(afisha.port, "/v1/events?limit=5")
        assert first == _get(baseline.port, "/v1/events?limit=5")
        assert first["next_cursor"]
        later = f"/v1/events?limit=5&cursor={first['next_cursor']}"
        assert _get(afisha.port, later) == _get(baseline.port, later)
        token = seed.token_for(spec.seed, 1)
        for item in first["items"]:
            path = f"/v1/events/{item['id']}"
            assert _get(afisha.port, path, token) == _get(baseline.port, path, token)


def test_the_fair_baseline_tick_writes_what_afisha_writes(
    tiny_database: tuple[str, seed.SeedSpec],
) -> None:
    url, _spec = tiny_database
    asyncio.run(sc.reset_reminders(url))
    due = asyncio.run(sc.count_due(url))
    written = {}
    try:
        for mode in ("afisha", "baseline"):
            asyncio.run(sc.reset_reminders(url))
            report = asyncio.run(reminder_tick.tick(url, mode))  # in this process: quicker
            assert report["claims"] == due, mode
            assert report["batch"] == Settings().reminder_batch_size, mode
            written[mode] = asyncio.run(sc.reminder_rows(url)), asyncio.run(sc.reminder_digest(url))
    finally:
        asyncio.run(sc.reset_reminders(url))
    (afisha, afisha_digest), (baseline, baseline_digest) = written["afisha"], written["baseline"]
    assert len(afisha["notifications"]) == len(afisha["outbox"]) == due
    assert baseline == afisha  # every column but ids and timestamps, row for row
    assert baseline_digest == afisha_digest
    # The comparison covers what the old baseline left out: the event's place and time
    # zone, the recipient's language, the link and the HTML part.
    zones = sc.fetch(
        url,
        "SELECT DISTINCT e.timezone FROM events e JOIN participations p ON p.event_id = e.id"
        " WHERE e.starts_at > now() AND e.starts_at <= now() + interval '24 hours'",
    )
    assert len(asyncio.run(zones)) > 1
    places = ("Main hall", "Small hall", "Library", "Park stage", "Rooftop", "Gallery 2")
    for note in afisha["notifications"]:
        assert any(place in note["content"] for place in places), note
        assert "/events/" in (note["cta_url"] or ""), note
    htmls = [mail["html_body"] for mail in afisha["outbox"]]
    assert all(html and html.startswith("<!DOCTYPE html>") for html in htmls)
    assert {'lang="ru"' in html for html in htmls} == {True, False}  # both languages


def test_the_driver_counts_every_request_and_only_targets_loopback(
    tiny_database: tuple[str, seed.SeedSpec],
) -> None:
    url, _spec = tiny_database
    with baseline_server(url) as server:
        request = driver.http_request("GET", "/v1/events")
        result = asyncio.run(
            driver.run_load(
                server.host,
                server.port,
                driver.constant(request),
                connections=3,
                max_requests=30,
                duration=30,
            )
        )
        missing = driver.http_request("GET", "/nowhere")
        errors = asyncio.run(
            driver.run_load(
                server.host,
                server.port,
                driver.constant(missing),
                connections=1,
                max_requests=3,
                duration=30,
            )
        )
    assert result.completed == 30
    assert result.statuses == {200: 30}
    assert result.error_count == 0
    assert result.p(0.5) <= result.p(0.99)
    assert errors.errors == {"HTTP 404": 3}
    with pytest.raises(ValueError, match="loopback"):
        asyncio.run(
            driver.run_load(
                "192.0.2.1", 80, driver.constant(request), connections=1, max_requests=1, duration=1
            )
        )


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert driver.percentile(values, 0.5) == 50.0
    assert driver.percentile(values, 0.99) == 99.0
    assert math.isnan(driver.percentile([], 0.5))


def test_every_scenario_runs_once_on_tiny_data(services: None) -> None:
    outcome = asyncio.run(run.run(sc.TINY, set(run.SCENARIOS), run_id=uuid.uuid4().hex[:8]))
    assert {s.scenario for s in outcome.summaries} == set(run.SCENARIOS)
    assert {r.scenario for r in outcome.rows} == set(run.SCENARIOS)
    for row in outcome.rows:
        assert row.requests > 0, row
        if row.scenario != "f":  # the storm's own failures are reported in its note
            assert row.errors == 0, row
    race = next(s for s in outcome.summaries if s.scenario == "d")
    assert race.met, race.line()  # exactly the capacity joined, on both servers
    tick = [r for r in outcome.rows if r.scenario == "e"]
    due = sc.TINY.due_events * sc.TINY.due_per_event  # and a few seeded ones of the next day
    assert [r.server for r in tick] == ["afisha", "baseline", "baseline", "afisha"]
    assert all(r.requests >= due and r.errors == 0 for r in tick), tick
    assert all("same rows as afisha" in r.note for r in tick if r.server == "baseline"), tick
    storm = [r for r in outcome.rows if r.scenario == "f" and "logging in" in r.case]
    assert all("201 x" in r.note and "429 x" in r.note for r in storm), storm
    workers = [r for r in outcome.rows if r.scenario == "w"]
    assert [r.server for r in workers] == ["afisha w2", "baseline w2", "afisha w1"]
    # The baseline is told to use what is installed; every server's stack was seen.
    assert outcome.stacks["baseline"] == outcome.stacks["baseline w2"] == available_stack()
    assert "unknown" not in outcome.stacks.values(), outcome.stacks
    table = run.format_table(outcome.rows)
    assert table.count("\n") == len(outcome.rows) + 1
    for summary in outcome.summaries:
        assert summary.line().startswith(f"SUMMARY {summary.scenario}: ")


def test_the_in_process_measure_reports_both_cases(
    tiny_database: tuple[str, seed.SeedSpec],
) -> None:
    url, spec = tiny_database
    for which in ("afisha", "baseline"):
        results = asyncio.run(inprocess.measure(which, url, spec, requests=40, concurrency=4))
        assert set(results) == {"first page", "event with token"}
        assert all(cpu > 0 and wall > 0 for cpu, wall in results.values())
