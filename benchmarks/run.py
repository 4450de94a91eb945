"""Run the benchmarks: ``python -m benchmarks.run [--quick] [--only a,b,...] [--json FILE]``.

Creates fresh ``afisha_bench_<pid>_*`` databases (dropped at the end, whatever
happens), seeds them with :mod:`benchmarks.seed`, starts ``afisha serve`` and the
baseline on each, runs the scenarios and prints a table plus one ``SUMMARY`` line per
scenario. ``--quick`` (the CI-sized run, a few minutes) uses smaller sizes than the
full run; both are described in docs/performance.md.

Databases and what runs on them (full / quick):

- ``small``: 1k events; (b) and (f).
- ``main``: 100k events, 10k users; (a), (b), (c), (d) and (w).
- ``scale``: 1M / 10k events; (b).
- ``reminders``: 100k / 10k events plus 100k / 20k due participations; (e).

The baseline lists events with the same lower bound on ``starts_at`` as afisha (the
index of migration 0002). ``baseline+fix`` rows in (f) hash passwords on one thread of
the baseline's own, as afisha's argon2 adapter does. (w) runs ``afisha serve --workers
N`` against the baseline with N uvicorn workers and against ``afisha serve`` with one.

The header says whether uvloop and httptools are installed; after the table, one line
names the event loop and HTTP parser each server process really loaded, and a
``WARNING`` follows when two compared servers differ.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import ExitStack, asynccontextmanager

import attrs

from benchmarks import scenarios as sc
from benchmarks import seed
from benchmarks.servers import Server, afisha_server, available_stack, baseline_server

__all__ = ["format_table", "main", "run"]

SCENARIOS = ("a", "b", "c", "d", "e", "f", "w")
#: The index the proposed fix for (b) needs (see docs/performance.md).


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def format_table(rows: Sequence[sc.Row]) -> str:
    """The measured rows as a Markdown table."""
    header = (
        "| sc | case | server | requests | errors | throughput | p50 ms | p90 ms | p99 ms"
        " | server CPU ms/req | PG CPU ms/req | load | notes |"
    )
    lines = [header, "|" + "---|" * 13]
    lines.extend(
        f"| {r.scenario} | {r.case} | {r.server} | {r.requests:,} | {r.errors:,}"
        f" | {_fmt(r.throughput, 0)} {r.unit} | {_fmt(r.p50)} | {_fmt(r.p90)} | {_fmt(r.p99)}"
        f" | {_fmt(r.server_cpu_ms, 2)} | {_fmt(r.pg_cpu_ms, 2)} | {r.load:.1f} | {r.note} |"
        for r in rows
    )
    return "\n".join(lines)


@asynccontextmanager
async def bench_database(
    run_id: str, label: str, spec: seed.SeedSpec
) -> AsyncIterator[tuple[str, seed.SeedReport]]:
    """A new, migrated, seeded ``afisha_bench_<run>_<label>``; dropped on the way out."""
    name = f"afisha_bench_{run_id}_{label}"
    started = time.perf_counter()
    try:
        url = await seed.prepare(name)
        report = await asyncio.to_thread(seed.fill, url, spec)
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
        _say(
            f"seeded {name}: {report.events:,} events, {report.users:,} users,"
            f" {report.participations:,} participations ({report.due_participations:,} due)"
            f" in {time.perf_counter() - started:.1f} s ({parts})"
        )
        yield url, report
    finally:
        await asyncio.to_thread(seed.drop_database, name)


@attrs.define
class Outcome:
    """Everything a run measured, and what went wrong around it."""

    plan: sc.Plan
    rows: list[sc.Row] = attrs.field(factory=list)
    summaries: list[sc.Summary] = attrs.field(factory=list)
    seeding: dict[str, float] = attrs.field(factory=dict)
    seconds: float = 0.0
    warnings: list[str] = attrs.field(factory=list)
    stacks: dict[str, str] = attrs.field(factory=dict)
    """The event loop and HTTP parser each server ran (``uvloop+httptools``...)."""

    def saw(self, server: Server) -> Server:
        """Note which loop and parser ``server`` runs; return it."""
        self.stacks.setdefault(server.name, server.stack())
        return server

    def stack_line(self) -> str:
        """``event loop+HTTP parser: afisha asyncio+httptools, ...`` (installed: ...)."""
        seen = ", ".join(f"{name} {stack}" for name, stack in self.stacks.items())
        return f"event loop+HTTP parser: {seen or 'no server ran'} (installed: {available_stack()})"

    def stack_warnings(self) -> list[str]:
        """One warning per compared pair that ran different loops or parsers.

        Compared: ``afisha`` with ``baseline``, ``afisha wN`` with ``baseline wN``.
        """
        pairs = [(b.replace("baseline", "afisha", 1), b) for b in self.stacks if "baseline" in b]
        return [
            f"{a} ran {self.stacks[a]} but {b} ran {self.stacks[b]}: not the same footing"
            for a, b in pairs
            if a in self.stacks and self.stacks[a] != self.stacks[b]
        ]


async def postgres_started_at() -> str:
    """When the PostgreSQL server last started: a change means it restarted under us."""
    rows = await sc.fetch(seed.ADMIN_URL, "SELECT pg_postmaster_start_time()::text")
    return str(rows[0][0])


@asynccontextmanager
async def watching_postgres(outcome: Outcome, what: str) -> AsyncIterator[None]:
    """Add a warning to ``outcome`` if PostgreSQL restarts while ``what`` runs."""
    before = await postgres_started_at()
    yield
    after = await postgres_started_at()
    if after != before:
        outcome.warnings.append(
            f"PostgreSQL restarted during {what} (something else on this machine restarted"
            " it): those figures are not valid, run again"
        )


async def _servers_rows(
    url: str, plan: sc.Plan, spec: seed.SeedSpec, events: int, wanted: set[str], outcome: Outcome
) -> None:
    with ExitStack() as stack:
        targets = [
            sc.Target(
                server=outcome.saw(stack.enter_context(afisha_server(url))), database_url=url
            ),
            # The baseline bounds its listing by the longest event, as afisha does with
            # the index of migration 0002: the same query on both sides.
            sc.Target(
                server=outcome.saw(stack.enter_context(baseline_server(url, span_bound=True))),
                database_url=url,
            ),
        ]
        if "a" in wanted and events == plan.main_events:
            _say("(a) listing throughput ...")
            rows, summary = await sc.scenario_a(targets, plan)
            outcome.rows += rows
            outcome.summaries.append(summary)
        if "b" in wanted and events in plan.scale_sizes:
            _say(f"(b) first page at {events:,} events ...")
            outcome.rows += await sc.scale_rows(targets, plan, events)
        if "c" in wanted and events == plan.main_events:
            _say("(c) one event with a token ...")
            rows, summary = await sc.scenario_c(targets, plan, spec)
            outcome.rows += rows
            outcome.summaries.append(summary)
        if "d" in wanted and events == plan.main_events:
            _say("(d) join race ...")
            rows, summary = await sc.scenario_d(targets, plan, spec)
            outcome.rows += rows
            outcome.summaries.append(summary)
        if "f" in wanted and events == min(plan.scale_sizes):
            _say("(f) listing during a login storm ...")
            fixed = stack.enter_context(baseline_server(url, hash_threads=1))
            fix = sc.Target(server=attrs.evolve(fixed, name="baseline+fix"), database_url=url)
            rows, summary = await sc.scenario_f([*targets, fix], plan, spec)
            outcome.rows += rows
            outcome.summaries.append(summary)
        if "w" in wanted and events == plan.main_events:
            _say(f"(w) {plan.workers} worker processes ...")
            await _workers_rows(url, plan, targets[0].server, outcome)


async def _workers_rows(url: str, plan: sc.Plan, single: Server, outcome: Outcome) -> None:
    n = plan.workers
    # The baseline bounds its listing by the longest event, as afisha's list_views does
    # with the index of migration 0002 (on every bench database): the same query on both
    # sides. Without it the first page scans every past event (see (b)).
    with (
        afisha_server(url, workers=n) as many,
        baseline_server(url, workers=n, span_bound=True) as baselines,
    ):
        servers = [
            attrs.evolve(many, name=f"afisha w{n}"),
            attrs.evolve(baselines, name=f"baseline w{n}"),
            attrs.evolve(single, name="afisha w1"),
        ]
        targets = [sc.Target(server=outcome.saw(s), database_url=url) for s in servers]
        rows, summary = await sc.scenario_w(targets, plan)
    outcome.rows += rows
    outcome.summaries.append(summary)


async def run(plan: sc.Plan, wanted: set[str], run_id: str | None = None) -> Outcome:
    """Run the ``wanted`` scenarios of ``plan``; every database is dropped afterwards."""
    run_id = run_id or str(os.getpid())
    outcome = Outcome(plan=plan)
    started = time.perf_counter()
    sizes = sorted(
        set(plan.scale_sizes if "b" in wanted else ())
        | ({plan.main_events} if wanted & {"a", "c", "d", "w"} else set())
        | ({min(plan.scale_sizes)} if "f" in wanted else set())
    )
    for events in sizes:
        spec = seed.SeedSpec(events=events, users=plan.users)
        async with (
            bench_database(run_id, f"e{events}", spec) as (url, report),
            watching_postgres(outcome, f"the scenarios on {events:,} events"),
        ):
            outcome.seeding[f"{events:,} events"] = report.total_seconds
            await _servers_rows(url, plan, spec, events, wanted, outcome)
    if "b" in wanted:
        outcome.summaries.append(sc.scenario_b_summary(outcome.rows, plan.scale_sizes))
    if "e" in wanted:
        spec = seed.SeedSpec(
            events=plan.reminder_events,
            users=plan.users,
            due_events=plan.due_events,
            due_per_event=plan.due_per_event,
        )
        async with (
            bench_database(run_id, "reminders", spec) as (url, report),
            watching_postgres(outcome, "the reminder tick"),
        ):
            outcome.seeding["reminders"] = report.total_seconds
            _say(f"(e) reminder tick over {report.due_participations:,} due ...")
            rows, summary = await sc.scenario_e(url, plan)
            outcome.rows += rows
            outcome.summaries.append(summary)
    order = {s: i for i, s in enumerate(SCENARIOS)}
    outcome.rows.sort(key=lambda r: order[r.scenario])
    outcome.summaries.sort(key=lambda s: order[s.scenario])
    outcome.seconds = time.perf_counter() - started
    outcome.warnings += outcome.stack_warnings()
    return outcome


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the table and the summary lines."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="e.g. a,b (default: all)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows and summaries here")
    args = parser.parse_args(argv)
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    if not wanted <= set(SCENARIOS):
        parser.error(f"--only takes scenarios among {','.join(SCENARIOS)}")
    plan = sc.QUICK if args.quick else sc.FULL
    load = os.getloadavg()[0]
    loop, http = available_stack().split("+")
    _say(
        f"plan {plan.name}; {os.cpu_count()} CPUs, load average {load:.2f} at start;"
        f" uvloop {'installed' if loop == 'uvloop' else 'not installed'},"
        f" httptools {'installed' if http == 'httptools' else 'not installed'}"
    )
    outcome = asyncio.run(run(plan, wanted))
    print(format_table(outcome.rows))
    print()
    seeding = ", ".join(f"{k} {v:.1f} s" for k, v in outcome.seeding.items())
    print(
        f"plan {plan.name}: {outcome.seconds:.0f} s in all; seeding {seeding};"
        f" load average {load:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(outcome.stack_line())
    for summary in outcome.summaries:
        print(summary.line())
    for warning in outcome.warnings:
        print(f"WARNING: {warning}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(
                {
                    "plan": attrs.asdict(plan),
                    "rows": [attrs.asdict(r) for r in outcome.rows],
                    "summaries": [s.line() for s in outcome.summaries],
                    "seeding": outcome.seeding,
                    "warnings": outcome.warnings,
                    "stacks": outcome.stacks,
                    "seconds": outcome.seconds,
                },
                out,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
