"""The garbage collector of a serving process, tuned for many short-lived objects.

A request makes thousands of small objects (rows, entities, response dicts) that die
with it. With CPython's default threshold (a young collection every 700 allocations)
the collector runs several times per request and now and then walks every object the
process holds, which shows as CPU and as the slowest requests. ``afisha serve`` moves
what exists once it has started (modules, the app, the catalogues) out of the
collector's sight with :func:`gc.freeze` and collects the young generation less
often. Reference cycles are still collected; only less eagerly.
"""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLDS", "tune_garbage_collector"]

#: Allocations before a young collection, and young/middle collections before the next
#: older one (CPython's defaults are 700, 10, 10).
GC_THRESHOLDS = (10_000, 20, 50)


def tune_garbage_collector() -> None:
    """Freeze what exists now and raise the collection thresholds (once per process)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
