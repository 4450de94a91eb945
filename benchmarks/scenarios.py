"""Scenarios (a) to (f) of issue 7, each measured on ``afisha serve`` and on the baseline.

Every scenario returns :class:`Row` s (one per server and case) and one
:class:`Summary`. The sizes and durations come from a :class:`Plan`: ``QUICK``
(``--quick``), ``FULL`` (the default) and ``TINY`` (the smoke test).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import psycopg

from afisha_core._pagination import encode_cursor
from benchmarks import seed
from benchmarks.driver import LoadResult, RequestSource, constant, http_request, run_load
from benchmarks.servers import PostgresCpu, Server, postgres_cpu_seconds

__all__ = [
    "FULL",
    "QUICK",
    "TINY",
    "Plan",
    "Row",
    "Summary",
    "execute",
    "fetch",
    "scale_rows",
    "scenario_a",
    "scenario_b_summary",
    "scenario_c",
    "scenario_d",
    "scenario_e",
    "scenario_f",
]


@attrs.frozen(kw_only=True)
class Plan:
    """How big and how long: the data sizes and the bounds of every load."""

    name: str
    main_events: int = 100_000
    scale_sizes: tuple[int, ...] = (1_000, 100_000, 1_000_000)
    users: int = 10_000
    duration: float = 15.0
    warmup: float = 3.0
    max_requests: int = 200_000
    connections: int = 64
    latency_connections: int = 4
    storm_connections: int = 16
    storm_clients: int = 8
    race_clients: int = 200
    race_capacity: int = 100
    race_rounds: int = 10
    reminder_events: int = 100_000
    due_events: int = 1_000
    due_per_event: int = 100
    deep_offset: int = 50_000


QUICK = Plan(
    name="quick",
    scale_sizes=(1_000, 10_000, 100_000),
    duration=4.0,
    warmup=1.0,
    max_requests=40_000,
    race_rounds=3,
    reminder_events=10_000,
    due_events=200,
)
FULL = Plan(name="full")
TINY = Plan(
    name="tiny",
    main_events=400,
    scale_sizes=(100, 400),
    users=300,
    duration=0.5,
    warmup=0.1,
    max_requests=40,
    connections=4,
    latency_connections=2,
    storm_connections=2,
    storm_clients=2,
    race_clients=20,
    race_capacity=10,
    race_rounds=1,
    reminder_events=100,
    due_events=3,
    due_per_event=10,
    deep_offset=100,
)


@attrs.frozen(kw_only=True)
class Row:
    """One measured load: one scenario case on one server.

    ``load`` is the machine's one-minute load average when the row was made: on a
    two-core machine anything above about 3 means something else was competing.
    """

    scenario: str
    case: str
    server: str
    requests: int
    errors: int
    throughput: float
    p50: float
    p90: float
    p99: float
    server_cpu_ms: float
    pg_cpu_ms: float
    unit: str = "req/s"
    note: str = ""
    load: float = attrs.field(factory=lambda: os.getloadavg()[0])

    @classmethod
    def of(
        cls, scenario: str, case: str, server: str, result: LoadResult, cpu: tuple[float, float]
    ) -> Row:
        """A row from a load result and the (server, PostgreSQL) CPU seconds it used."""
        n = max(result.completed, 1)
        return cls(
            scenario=scenario,
            case=case,
            server=server,
            requests=result.completed,
            errors=result.error_count,
            throughput=result.throughput,
            p50=result.p(0.5),
            p90=result.p(0.9),
            p99=result.p(0.99),
            server_cpu_ms=cpu[0] * 1000 / n,
            pg_cpu_ms=cpu[1] * 1000 / n,
            note=", ".join(f"{k} x{v}" for k, v in sorted(result.errors.items())),
        )


@attrs.frozen(kw_only=True)
class Summary:
    """The scenario's one-line verdict; ``met`` is ``None`` when there is no target."""

    scenario: str
    text: str
    met: bool | None

    def line(self) -> str:
        """``SUMMARY a: ... -> MET`` as printed at the end of a run."""
        verdict = (
            "" if self.met is None else (" -> target MET" if self.met else " -> target MISSED")
        )
        return f"SUMMARY {self.scenario}: {self.text}{verdict}"


@attrs.frozen(kw_only=True)
class Target:
    """A server under load and how to reach the bench database directly."""

    server: Server
    database_url: str


def _bearer(token: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token}")


async def measure(
    server: Server,
    source: RequestSource,
    plan: Plan,
    *,
    connections: int,
    expected: Sequence[int] = (200,),
    warmup: bool = True,
) -> tuple[LoadResult, tuple[float, float]]:
    """Warm up, then load ``server``; return the result and the CPU seconds it cost."""
    if warmup and plan.warmup > 0:
        await run_load(
            server.host,
            server.port,
            source,
            connections=connections,
            max_requests=plan.max_requests,
            duration=plan.warmup,
            expected=expected,
        )
    cpu, pg = server.cpu_seconds(), postgres_cpu_seconds()
    result = await run_load(
        server.host,
        server.port,
        source,
        connections=connections,
        max_requests=plan.max_requests,
        duration=plan.duration,
        expected=expected,
    )
    return result, (server.cpu_seconds() - cpu, postgres_cpu_seconds() - pg)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _by(rows: Sequence[Row], server: str, case: str, scenario: str | None = None) -> Row:
    return next(
        r for r in rows if r.server == server and r.case == case and scenario in (None, r.scenario)
    )


async def fetch(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run ``query`` on a connection of its own; return every row."""
    async with await psycopg.AsyncConnection.connect(url, options="-c timezone=UTC") as conn:
        cursor = await conn.execute(query.encode(), params)
        return await cursor.fetchall()


async def execute(url: str, query: str, params: Any = None) -> None:
    """Run ``query`` in autocommit mode on a connection of its own."""
    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, options="-c timezone=UTC"
    ) as conn:
        await conn.execute(query.encode(), params)


# --- (a) throughput of the listing --------------------------------------------------------


async def deep_cursor(url: str, offset: int) -> str:
    """The cursor of the page that starts ``offset`` upcoming events in."""
    rows = await fetch(
        url,
        "SELECT starts_at, id FROM events WHERE ends_at > now() AND rejected_at IS NULL"
        " ORDER BY starts_at, id OFFSET %s LIMIT 1",
        (offset,),
    )
    if not rows:
        raise RuntimeError(f"fewer than {offset} upcoming events to make a deep cursor from")
    return encode_cursor((rows[0][0], rows[0][1]))


async def scenario_a(targets: Sequence[Target], plan: Plan) -> tuple[list[Row], Summary]:
    """(a) ``GET /v1/events``: the first page and a deep page, at ``plan.connections``."""
    cursor = await deep_cursor(targets[0].database_url, plan.deep_offset)
    cases = {
        "first page": http_request("GET", "/v1/events"),
        f"deep page (+{plan.deep_offset})": http_request("GET", f"/v1/events?cursor={cursor}"),
    }
    rows: list[Row] = []
    for case, request in cases.items():
        for target in targets:
            result, cpu = await measure(
                target.server, constant(request), plan, connections=plan.connections
            )
            rows.append(
                Row.of("a", f"{case}, {plan.main_events:,} ev", target.server.name, result, cpu)
            )
    parts, met = [], True
    for case in {r.case for r in rows}:
        afisha, baseline = _by(rows, "afisha", case), _by(rows, "baseline", case)
        ratio = _ratio(afisha.throughput, baseline.throughput)
        met = met and ratio >= 0.6 and afisha.p99 < 50 and afisha.errors == 0
        parts.append(
            f"{case}: afisha {afisha.throughput:.0f} req/s vs baseline {baseline.throughput:.0f}"
            f" req/s = {ratio:.2f}x; p99 {afisha.p99:.0f} ms (baseline {baseline.p99:.0f} ms)"
        )
    text = (
        " | ".join(sorted(parts))
        + f" [{plan.connections} connections; target >= 0.6x, p99 < 50 ms]"
    )
    return rows, Summary(scenario="a", text=text, met=met)


# --- (b) scale --------------------------------------------------------------------------


async def scale_rows(targets: Sequence[Target], plan: Plan, events: int) -> list[Row]:
    """(b) for one database size: the first page at ``plan.latency_connections``."""
    rows = []
    request = http_request("GET", "/v1/events")
    for target in targets:
        result, cpu = await measure(
            target.server, constant(request), plan, connections=plan.latency_connections
        )
        rows.append(Row.of("b", f"first page, {events:,} ev", target.server.name, result, cpu))
    return rows


def scenario_b_summary(rows: Sequence[Row], sizes: Sequence[int]) -> Summary:
    """(b)'s verdict: p50 at the largest size over p50 at the smallest, per server."""
    small, large = f"first page, {min(sizes):,} ev", f"first page, {max(sizes):,} ev"
    servers = sorted(
        {r.server for r in rows if r.scenario == "b"}, key=lambda s: (s != "afisha", s)
    )
    ratios = {
        s: _ratio(_by(rows, s, large, "b").p50, _by(rows, s, small, "b").p50) for s in servers
    }
    p50s = ", ".join(
        f"{size:,} {_by(rows, 'afisha', f'first page, {size:,} ev', 'b').p50:.1f} ms"
        for size in sizes
    )
    others = ", ".join(f"{s} {ratios[s]:.2f}x" for s in servers if s != "afisha")
    text = (
        f"afisha p50 {p50s}: {max(sizes):,}/{min(sizes):,} = {ratios['afisha']:.2f}x"
        f" ({others}) [target <= 1.3x]"
    )
    return Summary(scenario="b", text=text, met=ratios["afisha"] <= 1.3)


# --- (c) one event, authenticated ------------------------------------------------------------


async def scenario_c(
    targets: Sequence[Target], plan: Plan, spec: seed.SeedSpec
) -> tuple[list[Row], Summary]:
    """(c) ``GET /v1/events/{id}`` with a bearer token, half of them joined (``my_status``)."""
    url = targets[0].database_url
    viewers = list(range(1, plan.connections + 1))
    user_ids = seed.user_ids(spec)
    upcoming = [
        r[0]
        for r in await fetch(
            url,
            "SELECT id FROM events WHERE ends_at > now() AND rejected_at IS NULL"
            " ORDER BY starts_at, id LIMIT 200",
        )
    ]
    joined: dict[uuid.UUID, list[uuid.UUID]] = {}
    for event_id, user_id in await fetch(
        url,
        "SELECT p.event_id, p.user_id FROM participations p JOIN events e ON e.id = p.event_id"
        " WHERE p.user_id = ANY(%s) AND e.ends_at > now() AND e.rejected_at IS NULL",
        ([user_ids[i] for i in viewers],),
    ):
        joined.setdefault(user_id, []).append(event_id)
    per_viewer: list[list[bytes]] = []
    for i in viewers:
        token = seed.token_for(spec.seed, i)
        own = joined.get(user_ids[i], [])
        ids = [x for pair in zip(own, upcoming, strict=False) for x in pair] or upcoming
        ids += upcoming[len(own) : len(own) + 10]
        per_viewer.append(
            [http_request("GET", f"/v1/events/{e}", headers=[_bearer(token)]) for e in ids]
        )

    def source(connection: int, n: int) -> bytes:
        mine = per_viewer[connection % len(per_viewer)]
        return mine[n % len(mine)]

    rows = []
    for target in targets:
        result, cpu = await measure(target.server, source, plan, connections=plan.connections)
        rows.append(Row.of("c", "event by id, with token", target.server.name, result, cpu))
    afisha, baseline = rows[0], rows[1]
    ratio = _ratio(afisha.throughput, baseline.throughput)
    text = (
        f"afisha {afisha.throughput:.0f} req/s vs baseline {baseline.throughput:.0f} req/s"
        f" = {ratio:.2f}x; p99 {afisha.p99:.0f} ms (baseline {baseline.p99:.0f} ms)"
        f" [{plan.connections} connections; no target]"
    )
    return rows, Summary(scenario="c", text=text, met=None)


# --- (d) the join race ---------------------------------------------------------------------


async def _race_event(url: str, capacity: int, name: str) -> uuid.UUID:
    event_id = uuid.uuid4()
    now = datetime.now(UTC)
    await execute(
        url,
        "INSERT INTO events (id, name, starts_at, ends_at, max_participants_count, created_at,"
        " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            event_id,
            name,
            now + timedelta(days=10),
            now + timedelta(days=10, hours=2),
            capacity,
            now,
            now,
        ),
    )
    return event_id


async def scenario_d(
    targets: Sequence[Target], plan: Plan, spec: seed.SeedSpec
) -> tuple[list[Row], Summary]:
    """(d) ``race_clients`` clients join one event of ``race_capacity`` at once, per round."""
    url = targets[0].database_url
    first_user = plan.connections + 1  # not the viewers of (c)
    tokens = [seed.token_for(spec.seed, first_user + i) for i in range(plan.race_clients)]
    rows: list[Row] = []
    counts: dict[str, list[int]] = {}
    for target in targets:
        name = target.server.name
        warm = await _race_event(url, plan.race_capacity, f"Race warm-up {name}")
        events = [
            await _race_event(url, plan.race_capacity, f"Race {name} {r}")
            for r in range(plan.race_rounds)
        ]

        def source(connection: int, n: int, rounds: list[uuid.UUID] = events) -> bytes | None:
            if n >= len(rounds):
                return None
            return http_request(
                "PUT",
                f"/v1/events/{rounds[n]}/participation",
                headers=[_bearer(tokens[connection])],
            )

        def warmup(connection: int, n: int, event: uuid.UUID = warm) -> bytes | None:
            return (
                None
                if n
                else http_request(
                    "PUT",
                    f"/v1/events/{event}/participation",
                    headers=[_bearer(tokens[connection])],
                )
            )

        await run_load(
            target.server.host,
            target.server.port,
            warmup,
            connections=plan.race_clients,
            max_requests=plan.race_clients,
            duration=60,
            expected=(200, 409),
        )
        result, cpu = await measure(
            target.server,
            source,
            plan,
            connections=plan.race_clients,
            expected=(200, 409),
            warmup=False,
        )
        found = dict(
            await fetch(
                url,
                "SELECT event_id, count(*) FILTER (WHERE status = 'PARTICIPATING')"
                " FROM participations WHERE event_id = ANY(%s) GROUP BY event_id",
                (events,),
            )
        )
        counts[name] = [int(found.get(e, 0)) for e in events]
        row = Row.of(
            "d", f"{plan.race_clients} join 1 event of {plan.race_capacity}", name, result, cpu
        )
        joined, full = result.statuses.get(200, 0), result.statuses.get(409, 0)
        outcome = (
            f"{joined} joined, {full} full, PARTICIPATING per event {sorted(set(counts[name]))}"
        )
        note = f"{row.note}; {outcome}" if row.note else outcome
        rows.append(attrs.evolve(row, note=note))
    overbooked = {n: sum(max(0, c - plan.race_capacity) for c in cs) for n, cs in counts.items()}
    exact = all(c == plan.race_capacity for cs in counts.values() for c in cs)
    afisha, baseline = _by(rows, "afisha", rows[0].case), _by(rows, "baseline", rows[0].case)
    ratio = _ratio(afisha.throughput, baseline.throughput)
    text = (
        f"afisha {afisha.throughput:.0f} req/s vs baseline {baseline.throughput:.0f} req/s"
        f" = {ratio:.2f}x over {plan.race_rounds} rounds of {plan.race_clients} clients;"
        f" PARTICIPATING per event afisha {sorted(set(counts['afisha']))},"
        f" baseline {sorted(set(counts['baseline']))} (capacity {plan.race_capacity}),"
        f" overbooked afisha {overbooked['afisha']}, baseline {overbooked['baseline']};"
        f" p99 {afisha.p99:.0f} ms [target: 0 overbooked]"
    )
    met = overbooked["afisha"] == 0 and exact and afisha.errors == 0
    return rows, Summary(scenario="d", text=text, met=met)


# --- (e) the reminder tick -----------------------------------------------------------------


async def run_tick(url: str, mode: str) -> dict[str, Any]:
    """Run :mod:`benchmarks.reminder_tick` in a child process; return its report."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.reminder_tick",
        "--database-url",
        url,
        "--mode",
        mode,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    pg = PostgresCpu()
    waiting = asyncio.ensure_future(process.communicate())
    while not waiting.done():
        pg.sample()  # the tick's backend ends with it: sample while it lives
        await asyncio.wait([waiting], timeout=0.2)
    out, err = waiting.result()
    if process.returncode:
        raise RuntimeError(f"reminder tick ({mode}) failed:\n{err.decode(errors='replace')}")
    report: dict[str, Any] = json.loads(out)
    report["pg_cpu"] = pg.seconds()
    return report


_DUE = """
SELECT count(*) FROM participations p
JOIN events e ON e.id = p.event_id JOIN users u ON u.id = p.user_id
WHERE p.status = 'PARTICIPATING' AND p.reminder_queued_at IS NULL AND e.rejected_at IS NULL
  AND e.starts_at > now() AND e.starts_at <= now() + interval '24 hours'
  AND u.deleted_at IS NULL
"""


async def count_due(url: str) -> int:
    """How many participations a reminder tick would claim now (lead: 24 hours)."""
    rows = await fetch(url, _DUE)
    return int(rows[0][0])


async def _reset_reminders(url: str) -> None:
    await execute(
        url,
        "UPDATE participations SET reminder_queued_at = NULL WHERE reminder_queued_at IS NOT NULL",
    )
    await execute(url, "DELETE FROM notifications")
    await execute(url, "DELETE FROM outbox")
    await execute(url, "VACUUM ANALYZE")


def _tick_row(mode: str, report: dict[str, Any], due: int) -> Row:
    claims, seconds = int(report["claims"]), float(report["seconds"])
    samples: list[int] = report["rss_kib"]
    tenth = samples[max(1, len(samples) // 10)]
    n = max(claims, 1)
    return Row(
        scenario="e",
        case=f"reminder tick, {due:,} due",
        server=mode,
        requests=claims,
        errors=due - claims,
        throughput=claims / seconds if seconds else 0.0,
        p50=float("nan"),
        p90=float("nan"),
        p99=float("nan"),
        server_cpu_ms=float("nan"),
        pg_cpu_ms=float(report["pg_cpu"]) * 1000 / n,
        unit="claims/s",
        note=f"{seconds:.1f} s, peak RSS {report['peak_kib'] / 1024:.0f} MiB,"
        f" RSS {tenth / 1024:.0f} -> {samples[-1] / 1024:.0f} MiB after 10 %",
    )


async def scenario_e(url: str, plan: Plan) -> tuple[list[Row], Summary]:
    """(e) One reminder tick over every due participation: claims/s and memory."""
    due = await count_due(url)
    afisha = await run_tick(url, "afisha")
    await _reset_reminders(url)
    baseline = await run_tick(url, "baseline")
    rows = [_tick_row("afisha", afisha, due), _tick_row("baseline", baseline, due)]
    samples: list[int] = afisha["rss_kib"]
    growth = (samples[-1] - samples[max(1, len(samples) // 10)]) / 1024
    flat = growth < 16
    ratio = _ratio(rows[0].throughput, rows[1].throughput)
    text = (
        f"afisha {rows[0].throughput:.0f} claims/s vs set-based SQL {rows[1].throughput:.0f}"
        f" claims/s = {ratio:.2f}x over {due:,} due ({rows[0].requests:,} claimed);"
        f" peak RSS {afisha['peak_kib'] / 1024:.0f} MiB, growth after the first 10 %"
        f" {growth:+.1f} MiB [target >= 5000 claims/s, memory flat (< 16 MiB growth)]"
    )
    met = rows[0].throughput >= 5000 and flat and rows[0].requests == due
    return rows, Summary(scenario="e", text=text, met=met)


# --- (f) listing during a login storm --------------------------------------------------------


def storm_source(spec: seed.SeedSpec, first_user: int, users: int) -> RequestSource:
    """Logins with the right password, each user in turn, each from its own address."""

    def source(connection: int, n: int) -> bytes:
        index = first_user + (connection * 7919 + n) % users
        body = json.dumps({"login": seed.username_for(index), "password": seed.PASSWORD})
        address = f"127.{connection % 250 + 1}.{n // 250 % 250}.{n % 250 + 1}"
        return http_request(
            "POST",
            "/v1/sessions",
            headers=[("Content-Type", "application/json"), ("X-Forwarded-For", address)],
            body=body.encode(),
        )

    return source


async def scenario_f(
    targets: Sequence[Target], plan: Plan, spec: seed.SeedSpec
) -> tuple[list[Row], Summary]:
    """(f) p99 of ``GET /v1/events`` without, then during, a storm of logins."""
    request = constant(http_request("GET", "/v1/events"))
    first_user = plan.connections + plan.race_clients + 1
    storm = storm_source(spec, first_user, max(1, min(1000, spec.users - first_user)))
    rows: list[Row] = []
    for target in targets:
        server = target.server
        quiet, cpu = await measure(server, request, plan, connections=plan.storm_connections)
        rows.append(Row.of("f", "listing, quiet", server.name, quiet, cpu))

        async def logins(server: Server = server) -> LoadResult:
            return await run_load(
                server.host,
                server.port,
                storm,
                connections=plan.storm_clients,
                max_requests=plan.max_requests,
                duration=plan.warmup + plan.duration + 1,
                expected=(201,),
            )

        storming = asyncio.create_task(logins())
        loud, cpu = await measure(server, request, plan, connections=plan.storm_connections)
        stormed = await storming
        row = Row.of("f", f"listing, {plan.storm_clients} logging in", server.name, loud, cpu)
        rows.append(
            attrs.evolve(
                row,
                note=(
                    f"logins {stormed.throughput:.1f}/s, login p50 {stormed.p(0.5):.0f} ms"
                    + (f", login errors {dict(stormed.errors)}" if stormed.errors else "")
                    + (f"; {row.note}" if row.note else "")
                ),
            )
        )
    ratios = {
        t.server.name: _ratio(
            _by(rows, t.server.name, rows[1].case).p99, _by(rows, t.server.name, rows[0].case).p99
        )
        for t in targets
    }
    quiet_p99 = _by(rows, "afisha", rows[0].case).p99
    loud_p99 = _by(rows, "afisha", rows[1].case).p99
    others = ", ".join(f"{name} {r:.2f}x" for name, r in ratios.items() if name != "afisha")
    text = (
        f"afisha listing p99 {quiet_p99:.0f} ms quiet -> {loud_p99:.0f} ms during"
        f" {plan.storm_clients} concurrent logins = {ratios['afisha']:.2f}x"
        f" ({others}) [target <= 2x]"
    )
    return rows, Summary(scenario="f", text=text, met=ratios["afisha"] <= 2.0)
