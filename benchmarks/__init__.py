"""Load and scale benchmarks of the Afisha server against a bare Starlette baseline.

Run everything with ``python -m benchmarks.run --quick`` (a few minutes) or
``python -m benchmarks.run`` (the full sizes). The pieces:

- :mod:`benchmarks.seed`: a fresh ``afisha_bench_*`` database filled by ``COPY``,
  deterministically from a seed;
- :mod:`benchmarks.driver`: an asyncio HTTP/1.1 load driver that times every request;
- :mod:`benchmarks.servers`: ``afisha serve`` and the baseline as real uvicorn processes;
- :mod:`benchmarks.baseline_app`: the bare Starlette app doing the same queries by hand;
- :mod:`benchmarks.scenarios`: scenarios (a) to (f) of issue 7, and (w) with two worker processes;
- :mod:`benchmarks.reminder_tick`: the reminder tick of scenario (e) in its own process;
- :mod:`benchmarks.run`: the command that runs them and prints the table and summaries;
- :mod:`benchmarks.profile`: py-spy samples of the server (or the tick) under a scenario.

See ``docs/performance.md`` for the measured figures and what limits each scenario.
"""
