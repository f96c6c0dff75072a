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

from eyenet.anomaly.detect import MIN_BASELINE, Finding, NotEnoughData, detect
from eyenet.collect.history import HistoryPoint

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


def history_step(span: int) -> int:
    """The store's resolution for a span: every sample up to 6 hours, 5-minute rollups up to
    8 days, hourly beyond (as GET /api/devices/{id}/metrics chooses)."""
    return 0 if span <= 6 * 3600 else 300 if span <= 8 * 86400 else 3600


def poll_spacing(times: list[int]) -> float | None:
    """The usual time between two stored points, or None with fewer than two."""
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    return float(gaps[len(gaps) // 2]) if gaps else None


def judge(metric: str, chosen: Plan, window: list[HistoryPoint], base: list[HistoryPoint]) -> list[Finding]:
    """The findings of a window's stored points against its baseline's (ignored when the plan
    has none: the window is judged against itself). NotEnoughData says what is missing."""
    if not chosen.baseline:
        base = window
        if len(window) < MIN_BASELINE:
            # Under two points, the planned window is one poll interval long (plan above).
            interval = poll_spacing([p.ts for p in window]) or float(chosen.end - chosen.start)
            raise NotEnoughData(f"{len(window)} points stored, at least {MIN_BASELINE} are needed; "
                                + wait_hint(len(window), MIN_BASELINE, interval))
    return detect([p.avg for p in base], [p.avg for p in window], times=([p.ts for p in base], [p.ts for p in window]),
                  metric=metric, itself=not chosen.baseline)
