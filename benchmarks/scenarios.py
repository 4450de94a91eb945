"""Scenarios (a) to (f) of issue 7 and (w), each measured on ``afisha serve`` and the baseline.

Every scenario returns :class:`Row` s (one per server and case) and one
:class:`Summary`. The sizes and durations come from a :class:`Plan`: ``QUICK``
(``--quick``), ``FULL`` (the default) and ``TINY`` (the smoke test).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import psycopg
from psycopg import sql

from afisha_core._pagination import encode_cursor
from benchmarks import seed
from benchmarks.driver import LoadResult, RequestSource, constant, http_request, run_load
from benchmarks.servers import PostgresCpu, Server, postgres_cpu_seconds

__all__ = [
    "FULL",
    "QUICK",
    "STORM_EXPECTED",
    "TINY",
    "Plan",
    "Row",
    "Summary",
    "count_due",
    "execute",
    "fetch",
    "reminder_digest",
    "reminder_rows",
    "reset_reminders",
    "run_tick",
    "scale_rows",
    "scenario_a",
    "scenario_b_summary",
    "scenario_c",
    "scenario_d",
    "scenario_e",
    "scenario_f",
    "scenario_w",
    "storm_address",
    "storm_source",
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
    #: (e): rounds of two ticks each, afisha first in odd rounds, the baseline in even.
    tick_rounds: int = 2
    #: (w): the worker processes of the multi-process servers.
    workers: int = 2


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
        p99_ratio = _ratio(afisha.p99, baseline.p99)
        met = met and ratio >= 0.8 and p99_ratio <= 1.3 and afisha.errors == 0
        parts.append(
            f"{case}: afisha {afisha.throughput:.0f} req/s vs baseline {baseline.throughput:.0f}"
            f" req/s = {ratio:.2f}x; p99 {afisha.p99:.0f} ms vs baseline {baseline.p99:.0f} ms"
            f" = {p99_ratio:.2f}x"
        )
    text = (
        " | ".join(sorted(parts))
        + f" [{plan.connections} connections; target on every case: >= 0.8x the baseline's"
        " throughput, p99 <= 1.3x the baseline's]"
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
        f" [{plan.connections} connections; the baseline authenticates by token hash in one"
        " joined query; target >= 0.7x the baseline's throughput]"
    )
    met = ratio >= 0.7 and afisha.errors == 0
    return rows, Summary(scenario="c", text=text, met=met)


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


async def reset_reminders(url: str) -> None:
    """Undo every reminder tick: no claims, empty notifications and outbox, vacuumed.

    Every tick of (e) starts from this state, so none inherits another's dead rows.
    """
    await execute(
        url,
        "UPDATE participations SET reminder_queued_at = NULL WHERE reminder_queued_at IS NOT NULL",
    )
    await execute(url, "TRUNCATE notifications, outbox")
    await execute(url, "VACUUM ANALYZE participations, notifications, outbox")


async def _content_columns(conn: psycopg.AsyncConnection[Any], table: str) -> sql.Composed:
    """Every column of ``table`` but its id and its timestamps, as a select list."""
    cursor = await conn.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s AND column_name <> 'id'"
        " AND data_type NOT LIKE 'timestamp%%' ORDER BY ordinal_position",
        (table,),
    )
    return sql.SQL(", ").join(sql.Identifier(str(r[0])) for r in await cursor.fetchall())


async def reminder_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``notifications`` and ``outbox``, sorted, without ids and timestamps."""
    found: dict[str, list[dict[str, Any]]] = {}
    async with await psycopg.AsyncConnection.connect(url, options="-c timezone=UTC") as conn:
        for table in ("notifications", "outbox"):
            columns = await _content_columns(conn, table)
            query = sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier(table))
            cursor = await conn.execute(query)
            names = [c.name for c in cursor.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
            found[table] = sorted(rows, key=repr)
    return found


async def reminder_digest(url: str) -> str:
    """One digest of what :func:`reminder_rows` returns, computed in the database.

    Equal digests mean equal multisets of rows (ids and timestamps left out).
    """
    parts = []
    async with await psycopg.AsyncConnection.connect(url, options="-c timezone=UTC") as conn:
        for table in ("notifications", "outbox"):
            columns = await _content_columns(conn, table)
            query = sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), ''))"
                " FROM (SELECT md5(ROW({})::text) AS h FROM {}) r"
            ).format(columns, sql.Identifier(table))
            row = await (await conn.execute(query)).fetchone()
            if row is None:  # pragma: no cover - an aggregate always returns a row
                raise RuntimeError(f"no digest of {table}")
            parts.append(f"{table} {row[0]} {row[1]}")
    return "; ".join(parts)


@attrs.frozen(kw_only=True)
class _Tick:
    """One measured tick: which side, its round and place in it, what was due, its report."""

    mode: str
    round: int
    first: bool
    due: int
    report: dict[str, Any]
    digest: str

    @property
    def claims(self) -> int:
        return int(self.report["claims"])

    @property
    def throughput(self) -> float:
        seconds = float(self.report["seconds"])
        return self.claims / seconds if seconds else 0.0

    @property
    def growth_mib(self) -> float:
        """RSS growth after the first tenth of the batches, MiB."""
        samples: list[int] = self.report["rss_kib"]
        return (samples[-1] - samples[max(1, len(samples) // 10)]) / 1024


def _tick_row(tick: _Tick, same: bool | None) -> Row:
    report, n = tick.report, max(tick.claims, 1)
    samples: list[int] = report["rss_kib"]
    tenth = samples[max(1, len(samples) // 10)]
    same_note = "" if same is None else (", same rows as afisha" if same else ", ROWS DIFFER")
    return Row(
        scenario="e",
        case=f"reminder tick, {tick.due:,} due",
        server=tick.mode,
        requests=tick.claims,
        errors=tick.due - tick.claims,
        throughput=tick.throughput,
        p50=float("nan"),
        p90=float("nan"),
        p99=float("nan"),
        server_cpu_ms=float("nan"),
        pg_cpu_ms=float(report["pg_cpu"]) * 1000 / n,
        unit="claims/s",
        note=f"round {tick.round}, {'first' if tick.first else 'second'}:"
        f" {float(report['seconds']):.1f} s, batches of {report['batch']},"
        f" peak RSS {report['peak_kib'] / 1024:.0f} MiB,"
        f" RSS {tenth / 1024:.0f} -> {samples[-1] / 1024:.0f} MiB after 10 %{same_note}",
    )


async def scenario_e(url: str, plan: Plan) -> tuple[list[Row], Summary]:
    """(e) Reminder ticks over every due participation: claims/s and memory.

    ``plan.tick_rounds`` rounds of one afisha tick and one baseline tick, afisha first
    in odd rounds and second in even ones; before every tick the reminders are reset
    (:func:`reset_reminders`), so each starts from the same state. After each tick the
    written rows are digested: the baseline's must equal those of afisha's tick of the
    same round.
    """
    ticks: list[_Tick] = []
    for number in range(1, plan.tick_rounds + 1):
        modes = ("afisha", "baseline") if number % 2 else ("baseline", "afisha")
        for place, mode in enumerate(modes):
            await reset_reminders(url)
            due = await count_due(url)
            report = await run_tick(url, mode)
            digest = await reminder_digest(url)
            ticks.append(
                _Tick(
                    mode=mode, round=number, first=not place, due=due, report=report, digest=digest
                )
            )
    await reset_reminders(url)
    digests = {t.round: t.digest for t in ticks if t.mode == "afisha"}
    rows = [
        _tick_row(t, None if t.mode == "afisha" else t.digest == digests[t.round]) for t in ticks
    ]
    mine = [t for t in ticks if t.mode == "afisha"]
    theirs = [t for t in ticks if t.mode == "baseline"]
    same = all(t.digest == digests[t.round] for t in theirs)
    median = statistics.median(t.throughput for t in mine)
    base_median = statistics.median(t.throughput for t in theirs)
    best, base_best = max(t.throughput for t in mine), max(t.throughput for t in theirs)
    growth = max(t.growth_mib for t in mine)
    flat = growth < 16
    runs = ", ".join(f"{t.throughput:,.0f}" for t in mine)
    base_runs = ", ".join(f"{t.throughput:,.0f}" for t in theirs)
    text = (
        f"afisha median {median:,.0f} claims/s (runs {runs}) vs fair set-based baseline median"
        f" {base_median:,.0f} claims/s (runs {base_runs}) = {_ratio(median, base_median):.2f}x"
        f" (best {best:,.0f} vs {base_best:,.0f} = {_ratio(best, base_best):.2f}x)"
        f" over {mine[0].due:,} due, batches of {mine[0].report['batch']},"
        f" {plan.tick_rounds} rounds alternating who goes first;"
        f" baseline rows {'equal' if same else 'DIFFER FROM'} afisha's;"
        f" peak RSS {max(t.report['peak_kib'] for t in mine) / 1024:.0f} MiB, growth after"
        f" the first 10 % {growth:+.1f} MiB"
        " [target: median >= 10,000 claims/s, memory flat (< 16 MiB growth)]"
    )
    met = median >= 10_000 and flat and all(t.claims == t.due for t in mine)
    return rows, Summary(scenario="e", text=text, met=met)


# --- (f) listing during a login storm --------------------------------------------------------


def storm_address(connection: int) -> str:
    """The client address storm connection ``connection`` logs in from, all run long.

    How the server limits logins (``afisha_core.usecases.sessions.SessionService.login``
    with ``afisha_core.settings.Settings``; ``ServerConfig`` has no variable for them, so
    these are the production values; the counters live in Redis, ``REDIS_URL``):

    - per account, ``login_attempts_per_account``: 10 attempts in 15 minutes, counted
      before the password is checked and cleared by a successful login;
    - per client address, ``login_attempts_per_address``: 50 in 15 minutes, but only
      failed logins (wrong password or code) count; every attempt is checked against it.

    The address is ``request.client.host``, which uvicorn (``proxy_headers`` on by
    default) takes from ``X-Forwarded-For`` when the peer is trusted
    (``FORWARDED_ALLOW_IPS``, by default 127.0.0.1: the load driver). So each storm
    connection sends one fixed address from TEST-NET-2, like a real client behind its
    own IP, and the limiter sees a few addresses, not one per login. With the right
    password and distinct users, neither limit refuses anyone: 429 answers are counted
    and reported, and expected to be rare; the limiter's own work (a count, a look and a
    reset per login) is paid on every login.
    """
    return f"198.51.100.{connection % 254 + 1}"


def storm_source(spec: seed.SeedSpec, first_user: int, users: int) -> RequestSource:
    """Logins with the right password, each user in turn, each connection from one address."""
    del spec  # every seeded user has the same password

    def source(connection: int, n: int) -> bytes:
        index = first_user + (connection * 7919 + n) % users
        body = json.dumps({"login": seed.username_for(index), "password": seed.PASSWORD})
        return http_request(
            "POST",
            "/v1/sessions",
            headers=[
                ("Content-Type", "application/json"),
                ("X-Forwarded-For", storm_address(connection)),
            ],
            body=body.encode(),
        )

    return source


#: The answers a login of the storm may get: a session, or the rate limiter's refusal.
STORM_EXPECTED = (201, 429)


def _storm_note(server: str, stormed: LoadResult, clients: int) -> str:
    statuses = dict.fromkeys(STORM_EXPECTED, 0) | dict(stormed.statuses)
    counted = ", ".join(f"{status} x{count}" for status, count in sorted(statuses.items()))
    limiter = "rate limiter (Redis)" if server.startswith("afisha") else "no rate limiter"
    note = (
        f"logins {stormed.throughput:.1f}/s from {clients} addresses ({counted}; {limiter}),"
        f" login p50 {stormed.p(0.5):.0f} ms"
    )
    if stormed.errors:
        note += f", login errors {dict(sorted(stormed.errors.items()))}"
    return note


async def scenario_f(
    targets: Sequence[Target], plan: Plan, spec: seed.SeedSpec
) -> tuple[list[Row], Summary]:
    """(f) p99 of ``GET /v1/events`` without, then during, a storm of logins.

    The storm's answers are counted by status in the row's note; 201 and 429 are
    expected, anything else is a login error (also in the note).
    """
    request = constant(http_request("GET", "/v1/events"))
    first_user = plan.connections + plan.race_clients + 1
    storm = storm_source(spec, first_user, max(1, min(1000, spec.users - first_user)))
    rows: list[Row] = []
    refused: dict[str, int] = {}
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
                expected=STORM_EXPECTED,
            )

        storming = asyncio.create_task(logins())
        loud, cpu = await measure(server, request, plan, connections=plan.storm_connections)
        stormed = await storming
        refused[server.name] = stormed.statuses.get(429, 0)
        row = Row.of("f", f"listing, {plan.storm_clients} logging in", server.name, loud, cpu)
        note = _storm_note(server.name, stormed, plan.storm_clients)
        rows.append(attrs.evolve(row, note=note + (f"; {row.note}" if row.note else "")))
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
        f" ({others}); logins refused with 429: afisha {refused['afisha']}"
        f" [target <= 2x]"
    )
    return rows, Summary(scenario="f", text=text, met=ratios["afisha"] <= 2.0)


# --- (w) several worker processes --------------------------------------------------------------


async def scenario_w(targets: Sequence[Target], plan: Plan) -> tuple[list[Row], Summary]:
    """(w) The first page of ``GET /v1/events`` at ``plan.connections`` on three servers.

    ``targets`` are, in this order: ``afisha serve --workers N``, the baseline with N
    uvicorn workers, and ``afisha serve`` with one (named ``afisha wN``, ``baseline wN``
    and ``afisha w1``). The baseline runs the listing with the lower bound on
    ``starts_at`` (``BENCH_SPAN_BOUND``), as afisha's ``list_views`` does. Server CPU is
    that of each whole process tree.
    """
    request = constant(http_request("GET", "/v1/events"))
    rows = []
    for target in targets:
        result, cpu = await measure(target.server, request, plan, connections=plan.connections)
        rows.append(
            Row.of("w", f"first page, {plan.main_events:,} ev", target.server.name, result, cpu)
        )
    many, baseline, one = rows
    versus_baseline = _ratio(many.throughput, baseline.throughput)
    versus_one = _ratio(many.throughput, one.throughput)
    text = (
        f"{many.server} {many.throughput:.0f} req/s vs {baseline.server}"
        f" {baseline.throughput:.0f} req/s = {versus_baseline:.2f}x, vs {one.server}"
        f" {one.throughput:.0f} req/s = {versus_one:.2f}x; p99 {many.p99:.0f} ms"
        f" ({baseline.server} {baseline.p99:.0f} ms, {one.server} {one.p99:.0f} ms)"
        f" [{plan.connections} connections; the baseline's listing bounded by the longest"
        f" event, as afisha's; target >= 0.8x {baseline.server} and >= 1.4x {one.server}]"
    )
    met = versus_baseline >= 0.8 and versus_one >= 1.4 and many.errors == 0
    return rows, Summary(scenario="w", text=text, met=met)
