"""Anomaly detection over a metric's history, sans-io: points in, labelled findings out.

A job compares a window of one device metric with the baseline before it, using
robust statistics (medians and the median absolute deviation), so that the outliers
being looked for do not distort the yardstick, and a metric's usual noise sets how
far is unusual. Each window point gets a robust z-score: its distance from what the
baseline expects, over the baseline's spread. What is expected is the baseline's
median, or, once the baseline covers ``SEASON_DAYS`` days and the points' times are
given, the baseline's daily profile: every day's median near that time of day
(``_seasonal``; daily seasonality: the morning's rise in traffic is not news). Traffic is
judged in logarithms: its noise is a share of its level.

The window's scores are then fitted three ways: a constant, one step (the best split
into two levels) and a line (Theil-Sen: the median of the pairwise slopes, which a few
outliers do not move), and the best fit says what happened:

* ``level_shift``: the level (of the step's latest part, or of the whole window)
  is beyond ``threshold`` from the baseline: a sustained change;
* ``trend`` (``memory_leak`` for ``memory`` rising): the line fits better than the level
  and rises or falls by more than ``threshold`` spreads over the window, and either fits
  better than the step or the step is no jump (``_gradual``: a drift that bends);
* ``spike`` / ``drop``: points beyond ``threshold`` above / below the fit, alone or two or
  three together (``_excursions``);
* ``flatline``: a run of equal values in the window that the baseline makes unlikely
  (a stuck counter or sensor, a dead link reported as zero);
* ``flapping``: a status series (a metric named ``*.status``, such as an interface's
  ifOperStatus) that changes more often per hour than its baseline makes likely (a
  Poisson tail), not counting the changes a daily timetable explains (``_unscheduled``);
* ``normal``: none of these.

Each finding has a confidence in 0-1 (``calibrated``): the share of findings of that
label and strength that were real anomalies on the tuning part of the evaluation set
(bench/anomaly_eval.py). The results are the findings, most confident first, or a
single ``normal``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import attrs

MIN_BASELINE = 10  # points: fewer give no trustworthy yardstick
MIN_WINDOW = 3
MAD_SCALE = 1.4826  # MAD of a normal distribution -> its standard deviation
SEASON_DAYS = 1  # days of baseline before the time of day is compared
SEASON_REACH = 1800  # seconds either side of a time of day that its profile is taken from
ONE_DAY_MARGIN = 1.25
EXCURSION = 3  # points: the longest spike or drop scored as one
FLAT_RUN = 6  # equal points in a row before a flatline is considered
FLAP_CHANGES = 4  # status changes in the window, at least, for flapping
# Spikes are judged against the window's own noise around its fit, when it is noisier than the
# baseline (a busier level) or quieter (without the time of day, the baseline's spread holds the
# whole day's swing), down to this share of the baseline's.
NOISE_FLOOR = 1.0
# Calibration (bench/anomaly_eval.py, tuning part): per label, the strength (distance over
# threshold) at which half the findings were real anomalies, and how fast that share grows.
CALIBRATION: dict[str, tuple[float, float]] = {
    "spike": (2.1, 8), "drop": (1.3, 8), "level_shift": (0.5, 3), "trend": (1.3, 8),
    "memory_leak": (0.5, 8), "flatline": (0.5, 6), "flapping": (1.0, 4),
}


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


def calibrated(label: str, strength: float) -> float:
    """The confidence of a finding of `label` whose strength (distance over threshold, >= 1) is
    given: a logistic curve in log strength, fitted per label on the tuning set."""
    middle, slope = CALIBRATION[label]
    odds = (max(strength, 1e-9) / middle) ** slope
    return round(min(0.999, odds / (1 + odds)), 3)


def _spread(values: Sequence[float], centre: float) -> float:
    """The robust standard deviation: scaled MAD, or the mean absolute deviation when
    more than half the points are equal (MAD 0), or 0 for a constant series."""
    mad = statistics.median(abs(v - centre) for v in values)
    if mad > 0:
        return MAD_SCALE * mad
    mean_dev = statistics.fmean(abs(v - centre) for v in values)
    return 1.2533 * mean_dev  # mean absolute deviation -> standard deviation, for a normal distribution


def _slot(t: float, step: float) -> int:
    return round((t % 86400) / step) % round(86400 / step)


def _profile_at(profile: dict[int, float], slot: int, slots: int) -> float:
    """The daily profile at a time of day; where no baseline point fell (a missed poll), the mean
    of the nearest times of day on either side: the baseline's overall median would be far off
    the day's curve (a night's traffic against the day's median looks like a drop)."""
    if slot in profile:
        return profile[slot]
    for distance in range(1, slots // 2 + 1):
        near = [profile[s] for s in ((slot - distance) % slots, (slot + distance) % slots) if s in profile]
        if near:
            return statistics.fmean(near)
    return statistics.median(profile.values())


def _seasonal(baseline: Sequence[float], times: Sequence[float], window_times: Sequence[float]) -> tuple[list[float], float] | None:
    """What the baseline expects at each window time (its median around that time of day), and
    the spread of the baseline around that daily profile; None without enough days."""
    step = statistics.median(b - a for a, b in zip(times, times[1:])) or 1.0
    if times[-1] - times[0] < SEASON_DAYS * 86400 - 3600:  # an hour short (missed polls) will do
        return None
    slots = max(1, round(86400 / step))
    by_slot: dict[int, list[float]] = {}
    for t, v in zip(times, baseline):
        by_slot.setdefault(_slot(t, step), []).append(v)
    # The profile at a time of day is the median of every day's points near it, SEASON_REACH
    # either side with a day of baseline, less with more days (a curve's median over a wide
    # span strays from its middle): one point a day (or three) would carry its own noise into
    # what the window is held to, and a missed poll would leave its time of day without any.
    days = max(1, round((times[-1] - times[0]) / 86400))
    reach = max(1, round(SEASON_REACH / math.sqrt(days) / step))
    profile = {}
    for slot in range(slots):
        near = [v for d in range(-reach, reach + 1) for v in by_slot.get((slot + d) % slots, ())]
        if near:
            profile[slot] = statistics.median(near)
    residuals = [v - profile[_slot(t, step)] for t, v in zip(times, baseline)]
    expected = [_profile_at(profile, _slot(t, step), slots) for t in window_times]
    # With fewer than two days, the profile cannot show how one day differs from the next:
    # room for a day unlike the one before.
    margin = ONE_DAY_MARGIN if times[-1] - times[0] < 2 * 86400 - 3600 else 1.0
    return expected, margin * _spread(residuals, 0.0)


def _is_traffic(metric: str) -> bool:
    """bandwidth.in|out and if.<ifIndex>.in|out: rates whose noise is a share of them."""
    parts = metric.split(".")
    return parts[0] == "bandwidth" or (parts[0] == "if" and parts[-1] in ("in", "out"))


def _theil_sen(values: Sequence[float], xs: Sequence[int] | None = None) -> tuple[float, float]:
    """Intercept and slope (per point) of the Theil-Sen line through values at xs (0, 1, 2, ... by default)."""
    n = len(values)
    x = range(n) if xs is None else xs
    slope = statistics.median((values[j] - values[i]) / (x[j] - x[i]) for i in range(n) for j in range(i + 1, n))
    return statistics.median(v - slope * x[i] for i, v in enumerate(values)), slope


def _level_of(values: Sequence[float], kept: Sequence[int]) -> tuple[list[float], float]:
    """What the points at `kept` (in order) expect at each point of `values`: their median, or
    their Theil-Sen line when that fits them better; and their point-to-point spread (steps
    between neighbours only)."""
    ys = [values[i] for i in kept]
    steps = [values[j] - values[i] for i, j in zip(kept, kept[1:]) if j == i + 1]
    spread = _spread(steps, 0.0) / math.sqrt(2) if any(steps) else 0.0
    centre = statistics.median(ys)
    expected = [centre] * len(values)
    if len(ys) >= 2 * MIN_WINDOW:
        intercept, slope = _theil_sen(ys, kept)
        line = [intercept + slope * i for i in range(len(values))]
        if sum(abs(values[i] - line[i]) for i in kept) < sum(abs(y - centre) for y in ys):
            expected = line
    return expected, spread


def _own_level(values: Sequence[float], threshold: float) -> tuple[list[float], float]:
    """What a short history judged against itself expects at each point (its median, or its
    Theil-Sen line when that fits better: a short history's slow wander cannot be told from a
    trend), and its spread, from the point-to-point noise: an excursion filling much of the
    history would widen the spread around the median, and adds only its two edges to the steps.
    When points of one side stand beyond `threshold` (the strongest excursion), they are set
    aside and both are taken again from the rest: a spike filling a third of the history lifts
    the median to the top of the other points, and its flat top adds steps of 0 to the noise;
    the troughs of the rest's own wander would read as drops. The second spread is also at least
    the rest's spread around their level (it no longer holds the excursion, and the steps see
    only the slope of a wave slower than the history)."""
    n = len(values)
    expected, spread = _level_of(values, range(n))
    scale = spread or abs(statistics.median(values)) * 0.01 or 1.0
    residuals = [(v - e) / scale for v, e in zip(values, expected)]
    side = math.copysign(1.0, max(residuals, key=abs))
    kept = [i for i, r in enumerate(residuals) if r * side <= threshold]
    if len(kept) == n or 2 * len(kept) <= n:  # no excursion, or the excursion is the most of it
        return expected, spread
    expected, spread = _level_of(values, kept)
    return expected, max(spread, _spread([values[i] - expected[i] for i in kept], 0.0))


def _best_step(values: Sequence[float]) -> tuple[int, float, float, float]:
    """The split k (the latter part at least MIN_WINDOW long, to be a level) into two levels
    that leaves the least absolute deviation: (k, level before, level after, that deviation).
    The part before may be a single point: a shift in the window's first points would
    otherwise leave them as outliers of the new level (drops or spikes that never were)."""
    best = (0, 0.0, 0.0, math.inf)
    for k in range(1, len(values) - MIN_WINDOW + 1):
        left, right = statistics.median(values[:k]), statistics.median(values[k:])
        cost = sum(abs(v - left) for v in values[:k]) + sum(abs(v - right) for v in values[k:])
        if cost < best[3]:
            best = (k, left, right, cost)
    return best


def _gradual(values: Sequence[float], k: int, height: float) -> bool:
    """Whether a step at k is no jump: the few points after it stand less than half the step's
    height from the few before it (a drift that bends, which a step fits better than a line)."""
    jump = statistics.median(values[k : k + MIN_WINDOW]) - statistics.median(values[max(0, k - MIN_WINDOW) : k])
    return abs(jump) < abs(height) / 2


def _running_median(values: Sequence[float], reach: int) -> list[float]:
    """Each point's median with up to `reach` points either side, as many on each (fewer near
    the ends: a one-sided median at the start of a rise would sit above its first point)."""
    n = len(values)
    return [statistics.median(values[i - r : i + r + 1]) for i in range(n) for r in [min(reach, i, n - 1 - i)]]


def _excursions(residuals: Sequence[float], threshold: float) -> tuple[float, float]:
    """The strongest rise and fall among excursions of 1 to EXCURSION points: a run's mean
    residual times the square root of its length, the score a single point of that size would
    have. Two or three points well below the usual (a dip to near zero of a quiet CPU) are far
    less likely by chance than one, though none of them alone is far out; each must be out by
    half the threshold at least (a few points of noise on the same side are no excursion)."""
    high = low = 0.0
    for width in range(1, EXCURSION + 1):
        for i in range(len(residuals) - width + 1):
            run = residuals[i : i + width]
            if max(run) < -threshold / 2 or min(run) > threshold / 2 or width == 1:
                score = sum(run) / math.sqrt(width)
                high, low = max(high, score), min(low, score)
    return high, low


def _longest_run(values: Sequence[float]) -> tuple[int, int]:
    """The length and start of the longest run of equal values."""
    best, start, run = (1, 0), 0, 1
    for i, (a, b) in enumerate(zip(values, values[1:]), 1):
        run, start = (run + 1, start) if a == b else (1, i)
        best = max(best, (run, -start))
    return best[0], -best[1]


def _changes(values: Sequence[float]) -> int:
    return sum(a != b for a, b in zip(values, values[1:]))


def _poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X Poisson with this mean."""
    term, below = math.exp(-mean), 0.0
    for i in range(k):
        below += term
        term *= mean / (i + 1)
    return max(0.0, 1.0 - below)


def _unscheduled(
    times: tuple[Sequence[float], Sequence[float]], baseline: Sequence[float], window: Sequence[float],
) -> tuple[int, float]:
    """The window's changes that no timetable explains, and the baseline's rate of such changes
    per hour: over every time of day watched on two days or more (only there could a timetable
    show), and at the window's times of day (an access port is unplugged in working hours, not
    at night), averaged. A change at a time of day (within a poll) at which the port changed on
    at least half the baseline's days besides its own (the window's day counts) is a scheduled
    link's (a backup circuit up at night, a link down every few hours), not a fault."""
    step = statistics.median(b - a for a, b in zip(times[0], times[0][1:])) or 1.0
    need = max(1.0, round((times[0][-1] - times[0][0]) / 86400) / 2)
    slots = max(1, round(86400 / step))

    def when(ts: Sequence[float], vs: Sequence[float]) -> list[tuple[int, int]]:
        return [(_slot(t, step), int(t // 86400)) for (t, a, b) in zip(ts[1:], vs, vs[1:]) if a != b]

    base, win = when(times[0], baseline), when(times[1], window)
    seen: dict[int, set[int]] = {}
    for slot, day in base + win:
        for d in (-1, 0, 1):
            seen.setdefault((slot + d) % slots, set()).add(day)
    watched: dict[int, set[int]] = {}
    for t in (*times[0], *times[1]):
        watched.setdefault(_slot(t, step), set()).add(int(t // 86400))
    hours = {_slot(t, step) for t in times[1]}
    judged = {slot for slot, days in watched.items() if len(days) >= 2} | hours
    unexplained = [slot for slot, day in base if slot in judged and len(seen[slot] - {day}) < need]
    base_slots = [_slot(t, step) for t in times[0]]
    rates = [
        sum(slot in among for slot in unexplained) / max(sum(slot in among for slot in base_slots) * step / 3600, 1.0)
        for among in (judged, hours)
    ]
    return sum(len(seen[slot] - {day}) < need for slot, day in win), statistics.fmean(rates)


def _flapping(baseline: Sequence[float], window: Sequence[float], times: tuple[Sequence[float], Sequence[float]] | None) -> list[Finding]:
    """A status series: flapping when its changes in the window are unlikely at the baseline's
    rate (a Poisson tail). With a day of baseline or more, only changes no timetable explains
    count, in the window and in the rate (_unscheduled), and the rate is at most the baseline's
    rate of all its changes: what a few hours of a day or two say of a time of day is a small sample."""
    base_hours = window_hours = 0.0
    if times is not None:
        base_hours = (times[0][-1] - times[0][0]) / 3600
        window_hours = (times[1][-1] - times[1][0]) / 3600
    if base_hours <= 0 or window_hours <= 0:  # no times: a point an hour stands in
        base_hours, window_hours = float(len(baseline)), float(len(window))
    every = changes = _changes(window)
    rate = _changes(baseline) / base_hours
    if times is not None and base_hours >= 24 - 1:  # an hour short (missed polls) will do
        changes, unexplained = _unscheduled(times, baseline, window)
        rate = min(rate, unexplained)
    # At least one change a day is allowed for: a baseline without any says little.
    rate = max(rate, 1 / 24)
    tail = _poisson_tail(changes, rate * window_hours)
    # Flapping is more than one outage: at least 4 changes, and more than an outage's 2 that
    # no timetable explains (a flap over a scheduled link's own changes merges with some).
    if every < FLAP_CHANGES or changes <= 2 or tail > 0.01:
        return [Finding("normal", round(1 - tail / 2, 3) if changes else 0.999)]
    return [Finding("flapping", calibrated("flapping", math.log10(1 / max(tail, 1e-12)) / 2))]


def detect(
    baseline: Sequence[float], window: Sequence[float], threshold: float = 3.5, *,
    times: tuple[Sequence[float], Sequence[float]] | None = None, metric: str | None = None, itself: bool = False,
) -> list[Finding]:
    """Findings for `window` judged against `baseline` (both in time order). `times`: the
    Unix seconds of their points (for the time of day and rates per hour); `metric`: its
    name (a rising ``memory`` is a ``memory_leak``); `itself`: the baseline is the window
    (a short history judged as a whole). NotEnoughData when either is too short."""
    if len(baseline) < MIN_BASELINE:
        raise NotEnoughData(f"the baseline has {len(baseline)} points; at least {MIN_BASELINE} are needed")
    if len(window) < MIN_WINDOW:
        raise NotEnoughData(f"the window has {len(window)} points; at least {MIN_WINDOW} are needed")
    if not all(math.isfinite(v) for v in (*baseline, *window)):
        raise ValueError("the series holds a value that is not a finite number")
    if times is not None and (len(times[0]) != len(baseline) or len(times[1]) != len(window)):
        raise ValueError("times: one per point of the baseline and of the window are needed")
    if metric is not None and metric.endswith(".status"):
        return _flapping(baseline, window, times)
    if metric is not None and _is_traffic(metric) and min(min(baseline), min(window)) >= 0:
        # Traffic's noise grows with its level (busy hours swing more, in bit/s): in logs it is even.
        baseline, window = [math.log1p(v) for v in baseline], [math.log1p(v) for v in window]

    centre = statistics.median(baseline)
    expected: Sequence[float] = [centre] * len(window)
    spread = _spread(baseline, centre)
    seasonal = _seasonal(baseline, times[0], times[1]) if times is not None else None
    if seasonal is not None and seasonal[1] > 0:
        expected, spread = seasonal
    if itself:
        expected, spread = _own_level(baseline, threshold)
    scale = spread or abs(centre) * 0.01 or 1.0  # a constant baseline: any change is news, relative to its level
    z = [(v - e) / scale for v, e in zip(window, expected)]
    findings: list[Finding] = []

    # Stopped moving where the baseline kept moving: the chance of a run that long at the
    # baseline's rate of repeated values.
    run, start = _longest_run(window)
    if run >= FLAT_RUN and spread > 0 and not itself:
        repeats = max(1 - _changes(baseline) / (len(baseline) - 1), 0.05)
        chance = repeats ** (run - 1)
        if chance < 0.001:
            findings.append(Finding("flatline", calibrated("flatline", math.log10(1 / chance) / 2)))
            # The stuck points tell nothing of the level: the rest of the window is judged without
            # them (with them, their one value would be the level the others are measured from).
            z = z[:start] + z[start + run :]
            if len(z) < MIN_WINDOW:
                return findings

    flat_level = statistics.median(z)
    flat_cost = sum(abs(v - flat_level) for v in z)
    fit: list[float] = [flat_level] * len(z)
    level = flat_level
    # Judged against itself, the level is _own_level's: neither a step nor a line is fitted to z.
    fitted = not itself and len(z) >= 2 * MIN_WINDOW
    k, before, after, step_cost = _best_step(z) if fitted else (0, 0.0, 0.0, math.inf)
    intercept, slope = _theil_sen(z) if fitted else (0.0, 0.0)
    line = [intercept + slope * i for i in range(len(z))]
    line_cost = sum(abs(v - f) for v, f in zip(z, line))
    rise = slope * (len(z) - 1)
    step_fit = [before] * k + [after] * (len(z) - k)
    if itself:
        # Judged against its own level (_own_level). (A step would take an excursion filling
        # much of the history for a level.)
        fit, level = [0.0] * len(z), 0.0
    elif abs(rise) > threshold and line_cost < 0.9 * flat_cost and (line_cost < 0.9 * step_cost or _gradual(z, k, after - before)):
        # A drift that bends (a rise in traffic is concave in logarithms) fits a step better than
        # a line; taken for a shift, its first points would read as drops below the step's level.
        label = "memory_leak" if metric == "memory" and rise > 0 else "trend"
        findings.append(Finding(label, calibrated(label, abs(rise) / threshold)))
        # Spikes and drops are judged from the local level: a drift need not be straight (a leak
        # levels off, a rise in traffic bends in logarithms), and the line's misfit at the
        # window's ends is no excursion.
        fit, level = _running_median(z, MIN_WINDOW), 0.0
    elif (step_cost < 0.7 * flat_cost or abs(before) <= threshold < abs(flat_level)) and abs(after - before) > threshold \
            and abs(after) > threshold and not abs(z[-1]) <= threshold < abs(z[-1] - after):
        # A step that ends at the baseline's level (or whose latest point is back there) is an
        # excursion that passed: its points are spikes or drops. A shifted window whose first
        # points are still at the baseline's level shifted after them (they are no drops), though
        # a step there fits little better than the level.
        fit, level = step_fit, after
    if abs(level) > threshold:
        findings.append(Finding("level_shift", calibrated("level_shift", abs(level) / threshold)))
    residuals = [v - f for v, f in zip(z, fit)]
    noise = 1.0 if itself else max(NOISE_FLOOR, MAD_SCALE * statistics.median(abs(r) for r in residuals))
    residuals = [r / noise for r in residuals]
    high, low = _excursions(residuals, threshold)
    if high > threshold:
        findings.append(Finding("spike", calibrated("spike", high / threshold)))
    if low < -threshold:
        findings.append(Finding("drop", calibrated("drop", -low / threshold)))
    # Below 0.5, a finding was more often wrong than right on the tuning set: it is no finding.
    weak = max((f.confidence for f in findings if f.confidence < 0.5), default=None)
    findings = [f for f in findings if f.confidence >= 0.5]
    if not findings:
        worst = max(abs(high), abs(low), abs(level))
        if weak is not None:
            return [Finding("normal", round(1 - weak, 3))]
        return [Finding("normal", round(1 - confidence(worst, threshold) / 2, 3) if worst else 0.999)]
    return sorted(findings, key=lambda f: (-f.confidence, f.label))
