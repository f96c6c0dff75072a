"""Anomaly detection over a metric's history, sans-io: points in, labelled findings out.

A job compares a window of one device metric with the baseline before it, using
robust statistics (median and median absolute deviation), so that the outliers
being looked for do not distort the yardstick, and a metric's usual noise sets
how far is unusual:

* ``spike`` / ``drop``: points of the window far above / below the baseline
  (robust z-score beyond ``threshold``, 3.5 by default: Iglewicz and Hoaglin);
* ``level_shift``: the window's median itself moved that far (a sustained change,
  not a few points);
* ``flatline``: the metric stopped moving in the window while it moved in the
  baseline (a stuck counter or sensor, a dead link reported as zero);
* ``normal``: none of these.

Each finding has a confidence in 0-1 that grows with the distance: 0.5 at the
threshold, 0.8 at twice it, 0.9 at three times. The results are the findings,
most confident first, or a single ``normal``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import attrs

LABELS = ("spike", "drop", "level_shift", "flatline", "normal")
MIN_BASELINE = 10  # points: fewer give no trustworthy yardstick
MIN_WINDOW = 3
MAD_SCALE = 1.4826  # MAD of a normal distribution -> its standard deviation


class NotEnoughData(ValueError):
    """Too few points to judge; the message says how many there were and how many are needed."""


@attrs.frozen
class Finding:
    label: str
    confidence: float


def confidence(score: float, threshold: float) -> float:
    """0.5 at the threshold, rising towards 1 with the distance (never 1: nothing is certain)."""
    ratio = abs(score) / threshold
    return round(min(0.999, ratio * ratio / (1 + ratio * ratio)), 3)


def _spread(values: Sequence[float], centre: float) -> float:
    """The robust standard deviation: scaled MAD, or the mean absolute deviation when
    more than half the points are equal (MAD 0), or 0 for a constant series."""
    mad = statistics.median(abs(v - centre) for v in values)
    if mad > 0:
        return MAD_SCALE * mad
    mean_dev = statistics.fmean(abs(v - centre) for v in values)
    return 1.2533 * mean_dev  # mean absolute deviation -> standard deviation, for a normal distribution


def detect(baseline: Sequence[float], window: Sequence[float], threshold: float = 3.5) -> list[Finding]:
    """Findings for `window` judged against `baseline` (both in time order). NotEnoughData
    when either is too short to judge."""
    if len(baseline) < MIN_BASELINE:
        raise NotEnoughData(f"the baseline has {len(baseline)} points; at least {MIN_BASELINE} are needed")
    if len(window) < MIN_WINDOW:
        raise NotEnoughData(f"the window has {len(window)} points; at least {MIN_WINDOW} are needed")
    if not all(math.isfinite(v) for v in (*baseline, *window)):
        raise ValueError("the series holds a value that is not a finite number")
    centre = statistics.median(baseline)
    spread = _spread(baseline, centre)
    findings: list[Finding] = []
    if spread == 0:
        # A constant baseline: any change is news, by how much relative to the level.
        scale = abs(centre) * 0.01 or 1.0
        scores = [(v - centre) / scale for v in window]
    else:
        scores = [(v - centre) / spread for v in window]
        # Stopped moving, where most baseline points differed from one another: the chance of
        # n equal samples of a moving metric halves (at least) with each one.
        if max(window) == min(window) and statistics.median(abs(v - centre) for v in baseline) > 0:
            findings.append(Finding("flatline", round(min(0.999, 1 - 0.5 ** (len(window) - 1)), 3)))
    high, low = max(scores), min(scores)
    shift = (statistics.median(window) - centre) / (spread or abs(centre) * 0.01 or 1.0)
    shifted = abs(shift) > threshold
    if shifted:
        findings.append(Finding("level_shift", confidence(shift, threshold)))
    # After a level shift, a spike is a point far from the new level, not from the old one.
    base_high, base_low = (shift, shift) if shifted else (0.0, 0.0)
    if high - base_high > threshold:
        findings.append(Finding("spike", confidence(high - base_high, threshold)))
    if low - base_low < -threshold:
        findings.append(Finding("drop", confidence(low - base_low, threshold)))
    if not findings:
        worst = max(abs(high), abs(low), abs(shift))
        return [Finding("normal", round(1 - confidence(worst, threshold) / 2, 3) if worst else 0.999)]
    return sorted(findings, key=lambda f: (-f.confidence, f.label))
