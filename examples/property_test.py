"""Property-based tests of your own code, with the Hypothesis strategies the core ships.

The code under test is something an app built on the core would write: a digest that
lists upcoming events day by day, each on the day it starts *in its own time zone*, with
a badge saying how many spots are left. ``afisha_core.testing.strategies`` generates
valid domain objects of every kind (here ``EventView``s: events in any IANA time zone,
limited or not, with live counts that respect the capacity), so the tests state what
must hold for every input instead of a few hand-picked ones.

    pip install "afisha-core[testing]"
    pytest examples/property_test.py      # as part of a test suite
    python examples/property_test.py      # or on its own
"""

# pytest checks with plain asserts (the tests/ folder has this exemption in pyproject.toml).
# ruff: noqa: S101

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from afisha_core.domain import EventView
from afisha_core.testing import strategies as afs

# --- the code under test: your own ------------------------------------------------------


def badge(view: EventView) -> str:
    """How full the event is, for people deciding whether to come."""
    left = view.spots_left
    if left is None:
        return ""
    return " (sold out)" if left == 0 else f" ({left} left)"


def line(view: EventView) -> str:
    """One line of the digest: local start time, name and badge."""
    local = view.event.starts_at.astimezone(ZoneInfo(view.event.timezone))
    return f"{local:%H:%M} {view.event.name}{badge(view)}"


def local_day(view: EventView) -> date:
    """The day the event starts on, where it takes place."""
    return view.event.starts_at.astimezone(ZoneInfo(view.event.timezone)).date()


def digest(views: Iterable[EventView]) -> dict[date, list[str]]:
    """The events grouped by the local day they start on, in order of their start."""
    days: defaultdict[date, list[str]] = defaultdict(list)
    for view in sorted(views, key=lambda v: (v.event.starts_at, v.event.id)):
        days[local_day(view)].append(line(view))
    return dict(sorted(days.items()))


# --- its properties ------------------------------------------------------------------------

many_views = st.lists(afs.event_views(), max_size=6, unique_by=lambda view: view.event.id)


@settings(max_examples=50, deadline=None)
@given(many_views)
def test_every_event_is_listed_once_on_the_day_it_starts_locally(
    views: list[EventView],
) -> None:
    """Nothing is lost or doubled, and each event sits under its own local date."""
    days = digest(views)

    assert sum(len(lines) for lines in days.values()) == len(views)
    for view in views:
        assert line(view) in days[local_day(view)]


@settings(max_examples=50, deadline=None)
@given(many_views)
def test_the_days_are_in_order(views: list[EventView]) -> None:
    """Days come in calendar order, so the digest reads from top to bottom."""
    days = list(digest(views))

    assert days == sorted(days)


@settings(max_examples=100, deadline=None)
@given(afs.event_views())
def test_the_badge_tells_the_truth(view: EventView) -> None:
    """Unlimited events have no badge; full ones say so; others count the free spots."""
    text = badge(view)
    cap = view.event.max_participants_count

    if cap is None:
        assert text == ""
    elif view.participants_count >= cap:
        assert text == " (sold out)"
    else:
        assert text == f" ({cap - view.participants_count} left)"


if __name__ == "__main__":
    for test in (
        test_every_event_is_listed_once_on_the_day_it_starts_locally,
        test_the_days_are_in_order,
        test_the_badge_tells_the_truth,
    ):
        test()  # Hypothesis runs the examples; a failure raises with the smallest one
        print(f"property holds: {test.__name__.removeprefix('test_').replace('_', ' ')}")
