"""The window and baseline a job judges when the request names neither: chosen from the history there is.

With a long history, the window is its latest tenth (at least 3 polls, at most an hour)
and the baseline everything before it (at most 7 days). A history shorter than
``SHORT`` is judged as a whole against itself: a baseline before the window would be a
few minutes that the anomaly looked for may well fill (the demo's CPU spike comes 40 s
after start), while the median and the MAD stay true as long as anomalous points are
fewer than the normal ones. Such a job has a baseline of 0 seconds.
"""

from __future__ import annotations

import math

import attrs

SHORT = 3600  # seconds of history below which it is judged as a whole
MAX_WINDOW = 3600
MAX_BASELINE = 7 * 86400
MIN_POLLS = 3


@attrs.frozen
class Plan:
    start: int
    end: int
    baseline: int  # seconds before start; 0: the window judged against itself


def plan(first: int | None, now: int, interval: float) -> Plan:
    """The window [start, end) ending with `now` for a history whose oldest point is at
    `first` (None: nothing stored yet), polled every `interval` seconds."""
    end = now + 1  # the poll of this very second counts
    if first is None or now - first < SHORT:
        span = 0 if first is None else max(0, now - first)
        return Plan(end - max(span + 1, math.ceil(interval)), end, 0)
    span = now - first
    window = min(MAX_WINDOW, max(span // 10, math.ceil(MIN_POLLS * interval)))
    start = end - window
    return Plan(start, end, min(MAX_BASELINE, start - first))


def wait_hint(have: int, need: int, interval: float | None) -> str:
    """How long until `need` points exist, for a failed job's reason."""
    missing = need - have
    if interval is None or interval <= 0:
        return f"{missing} more polls are needed"
    return f"try again in about {math.ceil(missing * interval)} s ({missing} more polls, one every {interval:g} s)"
