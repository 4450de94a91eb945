"""Where the time goes: py-spy samples of the server (or the reminder tick) under a scenario.

``python -m benchmarks.profile c`` seeds the quick-sized database, starts ``afisha
serve``, attaches ``py-spy record`` to it while scenario (c) runs (the same requests
as the benchmark), and prints the hottest frames and the share of samples per layer.
``e`` runs the reminder tick under ``py-spy record`` instead; ``a``, ``d`` and ``f``
work like ``c``. Without ``--idle`` only samples where a thread is running count
(where the CPU goes); with it, waiting counts too (where the wall time goes).

py-spy is a PyPI package (``pip install py-spy``); without it this command says so
and stops. It needs ptrace rights on the server process (root, or
``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks import run, seed
from benchmarks import scenarios as sc
from benchmarks.servers import afisha_server, baseline_server

__all__ = ["LAYERS", "main", "summarise"]

#: Frames where the thread is inside a socket ``send`` (libpq sending a query, asyncio
#: writing a response): on loopback the kernel delivers the data in the sender's time.
SENDS = (
    "BaseConnection._exec_command ",
    "BaseCursor._execute_send ",
    "_SelectorSocketTransport.write ",
    "BaseConnection._start_query ",
)
#: Which layer a frame belongs to, by the file py-spy names (first match wins).
LAYERS = (
    ("afisha_core", "(afisha_core/"),
    ("afisha_postgres", "(afisha_postgres/"),
    ("afisha_starlette", "(afisha_starlette/"),
    ("other afisha adapters", "(afisha_"),
    ("psycopg / psycopg_pool", "(psycopg"),
    ("redis", "(redis/"),
    ("argon2", "(argon2/"),
    ("starlette", "(starlette/"),
    ("uvicorn / h11", "(uvicorn/"),
    ("uvicorn / h11", "(h11/"),
    ("cattrs / attrs", "(cattrs/"),
    ("cattrs / attrs", "(attr/"),
    ("json", "(json/"),
    ("asyncio / selectors", "(asyncio/"),
    ("asyncio / selectors", "(selectors.py"),
)


def _layer(frame: str) -> str:
    if frame.startswith(SENDS):
        return "socket send (libpq query or asyncio response)"
    for name, marker in LAYERS:
        if marker in frame:
            return name
    return "other"


def summarise(collapsed: str, top: int = 20) -> str:
    """A report from py-spy's ``--format raw`` output (collapsed stacks with counts).

    Lists the frames with the most samples on top of the stack (self time), the
    frames found most often anywhere in the stack (inclusive), and the share of
    samples by the layer of the innermost frame (socket sends counted apart).
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
        layers[_layer(frames[-1])] += count
    if not total:
        return "no samples"

    def share(n: int) -> str:
        return f"{100 * n / total:5.1f} %"

    lines = [f"{total} samples", "", "by layer of the innermost frame:"]
    lines += [f"  {share(n)}  {name}" for name, n in layers.most_common()]
    lines += ["", f"top {top} frames by own samples:"]
    lines += [f"  {share(n)}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", f"top {top} frames by inclusive samples:"]
    lines += [f"  {share(n)}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


def _py_spy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit(
            "py-spy is not installed: pip install py-spy (it is not needed for the benchmarks"
            " themselves, only for this profile)"
        )
    return found


async def _profile_server(scenario: str, plan: sc.Plan, idle: bool, out: Path) -> None:
    spec = seed.SeedSpec(events=plan.main_events, users=plan.users)
    async with run.bench_database(str(os.getpid()), "profile", spec) as (url, _report):
        with afisha_server(url) as afisha, baseline_server(url) as baseline:
            targets = [
                sc.Target(server=afisha, database_url=url),
                sc.Target(server=baseline, database_url=url),
            ]
            command = [
                _py_spy(),
                "record",
                "--pid",
                str(afisha.process.pid),
                "--format",
                "raw",
                "--rate",
                "250",
                "--output",
                str(out),
                "--nonblocking",
            ]
            if idle:
                command.append("--idle")
            spy = await asyncio.create_subprocess_exec(
                *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            try:
                await asyncio.sleep(1.0)
                if scenario == "a":
                    await sc.scenario_a(targets, plan)
                elif scenario == "c":
                    await sc.scenario_c(targets, plan, spec)
                elif scenario == "d":
                    await sc.scenario_d(targets, plan, spec)
                else:
                    await sc.scenario_f(targets, plan, spec)
            finally:
                spy.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
                _, err = await asyncio.wait_for(spy.communicate(), 60)
                if spy.returncode:
                    print(err.decode(errors="replace"), file=sys.stderr)


async def _profile_tick(plan: sc.Plan, idle: bool, out: Path) -> None:
    spec = seed.SeedSpec(
        events=plan.reminder_events,
        users=plan.users,
        due_events=plan.due_events,
        due_per_event=plan.due_per_event,
    )
    async with run.bench_database(str(os.getpid()), "profile", spec) as (url, _report):
        command = [_py_spy(), "record", "--format", "raw", "--rate", "250", "--output", str(out)]
        if idle:
            command.append("--idle")
        command += ["--", sys.executable, "-m", "benchmarks.reminder_tick", "--database-url", url]
        process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE)
        report, _ = await process.communicate()
        print(report.decode().strip()[:300], file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Profile one scenario and print the summary."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", choices=("a", "c", "d", "e", "f"))
    parser.add_argument("--full", action="store_true", help="full sizes (default: quick)")
    parser.add_argument("--idle", action="store_true", help="count waiting samples too")
    parser.add_argument("--raw", metavar="FILE", help="keep py-spy's raw output here")
    args = parser.parse_args(argv)
    plan = sc.FULL if args.full else sc.QUICK
    _py_spy()
    with tempfile.TemporaryDirectory(prefix="afisha-bench-profile-") as tmp:
        out = Path(args.raw) if args.raw else Path(tmp, "profile.txt")
        if args.scenario == "e":
            asyncio.run(_profile_tick(plan, args.idle, out))
        else:
            asyncio.run(_profile_server(args.scenario, plan, args.idle, out))
        print(summarise(out.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
