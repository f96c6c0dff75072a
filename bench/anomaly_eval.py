"""How well eyenet.anomaly.detect finds anomalies: a labelled set of metric traces, built here.

Traces of 5-minute points, 1, 3 or 7 days of baseline then a 3-hour window (36 points):
diurnal traffic (bandwidth.in), CPU, memory and an interface status (1 up, 2 down), with
noise, day-to-day variation and 2 % of polls missing. Into the window of most, one labelled
anomaly is injected: spike, drop, level_shift, trend (memory_leak for memory), flatline or
flapping; the others are clean. Status traces come from quiet, access and scheduled ports,
and flapping at several rates (see status()): with quiet ports and fast flaps only, as at
first, the static thresholds and the detector both found every flap and nothing else, which
told nothing apart, and real ports change state for reasons besides a fault.

Two parts from two seeds: `--part tuning` (the one looked at while the detector and its
confidence calibration were tuned: `--calibrate` fits eyenet.anomaly.detect.CALIBRATION on it)
and `--part test` (untouched: the figures in bench/README.md). Each trace counts once per
label: found (confidence >= --min-confidence), missed, or found where it was not injected.

Beside it, the baseline to beat: static thresholds, as an operator sets them from the range
seen (above max(baseline) x a, below min(baseline) x b, a and b tuned on the tuning part;
a status changing at least n times in the window), named by the label they fit best.

    PYTHONPATH=. .venv/bin/python bench/anomaly_eval.py [--part test] [--table] [--calibrate]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eyenet.anomaly import detect as core  # noqa: E402

STEP = 300
WINDOW = 36
START = 1_790_000_000 - 1_790_000_000 % 86400  # a midnight
SEEDS = {"tuning": 1, "test": 2}
PER_CASE = 60
KINDS = {
    "bandwidth.in": ("spike", "drop", "level_shift", "trend", "flatline"),
    "cpu": ("spike", "drop", "level_shift", "trend", "flatline"),
    "memory": ("level_shift", "memory_leak", "flatline"),
    "if.1.status": ("flapping",),
}
LABELS = ("spike", "drop", "level_shift", "trend", "memory_leak", "flatline", "flapping")


def diurnal(t: float, peak_hour: float) -> float:
    """0-1: low at night, high in the working day."""
    return 0.5 + 0.5 * math.cos(2 * math.pi * ((t % 86400) / 3600 - peak_hour) / 24)


def trace(rng: random.Random, metric: str, label: str | None) -> tuple[list[float], list[float], set[str]]:
    days = rng.choice((1, 3, 7))
    n = days * 288 + WINDOW
    # The window starts at any time of day.
    start = START + rng.randrange(288) * STEP
    times = [start + i * STEP for i in range(n)]
    peak = rng.uniform(11, 16)
    daily = [rng.gauss(1, 0.05) for _ in range(days + 2)]
    if metric == "bandwidth.in":
        level = 10 ** rng.uniform(6, 8.7)
        values = [level * (0.15 + 0.85 * diurnal(t, peak)) * daily[(t - start) // 86400] * rng.gauss(1, 0.06) for t in times]
    elif metric == "cpu":
        base, amplitude = rng.uniform(5, 30), rng.uniform(0, 25)
        values = [min(100.0, max(0.0, base + amplitude * diurnal(t, peak) + rng.gauss(0, 2.5))) for t in times]
    elif metric == "memory":
        base = rng.uniform(35, 70)
        values = [base + 3 * diurnal(t, peak) + rng.gauss(0, 0.8) for t in times]
    else:
        values = status(rng, times, label)
    w0 = n - WINDOW
    if label == "spike":
        at, width = w0 + rng.randrange(2, WINDOW - 3), rng.randint(1, 3)
        for i in range(at, at + width):
            values[i] = rng.uniform(85, 100) if metric == "cpu" else values[i] * rng.uniform(2.5, 5)
    elif label == "drop":
        at, width = w0 + rng.randrange(2, WINDOW - 3), rng.randint(1, 3)
        for i in range(at, at + width):
            values[i] = values[i] * rng.uniform(0, 0.15)
    elif label == "level_shift":
        at = w0 + rng.randrange(0, WINDOW - 12)
        up = rng.random() < 0.6
        factor = rng.uniform(1.8, 2.5) if up else rng.uniform(0.2, 0.4)
        shift = (1 if up else -1) * (rng.uniform(12, 25) if metric == "memory" else rng.uniform(20, 35))
        for i in range(at, n):
            if metric == "bandwidth.in" or (metric == "cpu" and not up):  # CPU down: idle, not pinned at 0
                values[i] *= factor
            else:
                values[i] = min(100.0, max(0.0, values[i] + shift))
    elif label in ("trend", "memory_leak"):
        rise = {"bandwidth.in": statistics.median(values) * rng.uniform(1.5, 3), "cpu": rng.uniform(25, 45),
                "memory": rng.uniform(6, 15)}[metric]
        for k, i in enumerate(range(w0, n)):
            values[i] = min(100.0, values[i] + rise * k / WINDOW) if metric != "bandwidth.in" else values[i] + rise * k / WINDOW
    elif label == "flatline":
        at = n - rng.randint(10, 24)
        values[at:] = [values[at]] * (n - at)
    # Missing polls, not at the window's last point (the poll just taken).
    keep = [i for i in range(n) if i == n - 1 or rng.random() > 0.02]
    return [times[i] for i in keep], [values[i] for i in keep], {label} if label else set()


def outage(values: list[float], at: int, width: int) -> None:
    values[at : at + width] = [2.0] * len(values[at : at + width])


def status(rng: random.Random, times: list[float], label: str | None) -> list[float]:
    """An interface's ifOperStatus (1 up, 2 down) per poll, from one of three kinds of port.

    A port's state changes for many reasons besides a fault, and a count of changes alone
    cannot tell them apart: a quiet uplink with the odd short outage; an access port whose
    user plugs in and out during the working day (a few changes in a window are its normal);
    a scheduled link (a backup or dial-on-demand circuit) that goes down and up on a timetable,
    hours apart. Flapping comes at various rates: fast (down for a poll or two, many times),
    slow (down for a quarter to half an hour, two or three times in the window), or a burst
    on a port that is busy anyway."""
    n = len(times)
    w0 = n - WINDOW
    values = [1.0] * n
    port = rng.choice(("quiet", "access", "scheduled"))
    if port == "quiet":
        for _ in range(rng.randrange(3)):  # a few short outages in the baseline
            outage(values, rng.randrange(w0 - 3), rng.randint(1, 3))
        if label is None and rng.random() < 0.5:  # one outage in the window: not flapping
            outage(values, w0 + rng.randrange(WINDOW - 4), rng.randint(1, 3))
    elif port == "access":
        per_hour = rng.uniform(0.15, 0.4)  # unplugged now and then in working hours (8 to 18)
        for i in range(n):
            if 8 <= (times[i] % 86400) / 3600 < 18 and rng.random() < per_hour * STEP / 3600:
                outage(values, i, rng.randint(1, 6))
    else:
        period, down = rng.choice((2, 3, 4, 6)) * 3600, rng.randint(3, 12) * STEP
        phase = rng.randrange(0, period, STEP)
        values = [2.0 if (t + phase) % period < down else 1.0 for t in times]
    if label == "flapping":
        # An injection that merges into the port's own outages (a slow flap over a scheduled
        # link's downtime) adds no change that could be seen: it is drawn again, so that every
        # trace labelled flapping has at least 4 changes more in its window than its port makes.
        usual = core._changes(values[w0:])
        for _ in range(20):
            flapped = flap(rng, values, w0)
            if core._changes(flapped[w0:]) >= usual + 4:
                break
        values = flapped
    return values


def flap(rng: random.Random, values: list[float], w0: int) -> list[float]:
    values = list(values)
    rate = rng.choice(("fast", "slow", "burst"))
    if rate == "fast":
        for _ in range(rng.randint(4, 8)):
            outage(values, w0 + rng.randrange(WINDOW - 2), rng.randint(1, 2))
    elif rate == "slow":
        for k in range(rng.randint(2, 3)):
            outage(values, w0 + 12 * k + rng.randrange(4), rng.randint(3, 6))
    else:  # polled state at random: the port changes faster than it is polled
        at = w0 + rng.randrange(WINDOW - 12)
        share = rng.uniform(0.3, 0.6)
        for i in range(at, at + 12):
            values[i] = 2.0 if rng.random() < share else 1.0
    return values


def traces(part: str) -> list[tuple[str, list[float], list[float], set[str]]]:
    rng = random.Random(SEEDS[part])
    out = []
    for metric, labels in KINDS.items():
        for label in (None, *labels):
            for _ in range(PER_CASE * (2 if label is None else 1)):
                out.append((metric, *trace(rng, metric, label)))
    return out


def split(times: list[float], values: list[float]) -> tuple[list[float], list[float], list[float], list[float]]:
    cut = times[-1] - WINDOW * STEP
    k = next(i for i, t in enumerate(times) if t > cut)
    return times[:k], values[:k], times[k:], values[k:]


def ours(metric: str, times: list[float], values: list[float], min_confidence: float) -> tuple[set[str], list[tuple[str, float]]]:
    bt, bv, wt, wv = split(times, values)
    findings = core.detect(bv, wv, times=(bt, wt), metric=metric)
    found = [(f.label, f.confidence) for f in findings if f.label != "normal"]
    return {label for label, c in found if c >= min_confidence}, found


def static(metric: str, times: list[float], values: list[float], a: float, b: float, changes: int) -> set[str]:
    _, bv, _, wv = split(times, values)
    if metric.endswith(".status"):
        return {"flapping"} if sum(x != y for x, y in zip(wv, wv[1:])) >= changes else set()
    hi, lo = max(bv) * a, min(bv) * b
    above, below = sum(v > hi for v in wv), sum(v < lo for v in wv)
    out = set()
    if above:
        out.add("memory_leak" if metric == "memory" else "spike" if above <= 3 else "level_shift")
    if below:
        out.add("drop" if below <= 3 else "level_shift")
    return out


def scores(rows: list[tuple[set[str], set[str]]]) -> dict[str, dict[str, float]]:
    """Per label and overall (micro): precision, recall, F1 over (truth, found) pairs."""
    out = {}
    totals = [0, 0, 0]
    for label in LABELS:
        tp = sum(label in t and label in f for t, f in rows)
        fp = sum(label not in t and label in f for t, f in rows)
        fn = sum(label in t and label not in f for t, f in rows)
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
        out[label] = prf(tp, fp, fn)
    out["overall"] = prf(*totals)
    return out


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 3), "n": tp + fn}


def tune_static(data) -> tuple[float, float, int]:
    best = (-1.0, (1.0, 1.0, 1))
    for a in (1.0, 1.1, 1.2, 1.35, 1.5, 2.0):
        for b in (1.0, 0.9, 0.75, 0.5, 0.25):
            for n in (2, 4, 6, 8):
                f1 = scores([(truth, static(m, t, v, a, b, n)) for m, t, v, truth in data])["overall"]["f1"]
                best = max(best, (f1, (a, b, n)))
    return best[1]


def calibrate(data) -> dict[str, tuple[float, float]]:
    """Per label, the logistic curve in log strength that fits the share of real findings best (log loss)."""
    saved = dict(core.CALIBRATION)
    core.CALIBRATION.update({label: (1.0, 1.0) for label in core.CALIBRATION})  # confidence = s / (1 + s)
    pairs: dict[str, list[tuple[float, bool]]] = {}
    for m, t, v, truth in data:
        for label, c in ours(m, t, v, 0.0)[1]:
            pairs.setdefault(label, []).append((c / (1 - c) if c < 1 else 999.0, label in truth))
    core.CALIBRATION.update(saved)
    fitted = {}
    for label, seen in pairs.items():
        best = (math.inf, (1.0, 1.0))
        for middle in [0.5 + 0.1 * i for i in range(60)]:
            for slope in (0.5, 1, 1.5, 2, 3, 4, 6, 8):
                loss = 0.0
                for s, real in seen:
                    odds = (s / middle) ** slope
                    p = min(max(odds / (1 + odds), 1e-6), 1 - 1e-6)
                    loss -= math.log(p if real else 1 - p)
                best = min(best, (loss, (round(middle, 2), slope)))
        fitted[label] = best[1]
    return fitted


def reliability(data, min_confidence: float) -> list[dict]:
    """Of the findings in each confidence band, the share that were real."""
    bands = [(0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0)]
    counts = {band: [0, 0] for band in bands}
    for m, t, v, truth in data:
        for label, c in ours(m, t, v, min_confidence)[1]:
            for band in bands:
                if band[0] <= c < band[1] or (band[1] == 1.0 and c == 1.0):
                    counts[band][0] += 1
                    counts[band][1] += label in truth
    return [{"band": f"{lo}-{hi}", "findings": n, "real": round(r / n, 3) if n else None} for (lo, hi), (n, r) in counts.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=SEEDS, default="test")
    parser.add_argument("--min-confidence", type=float, default=0.5)
    parser.add_argument("--calibrate", action="store_true", help="fit the confidence curves on the tuning part and print them")
    parser.add_argument("--table", action="store_true", help="also print the per-label table in Markdown")
    args = parser.parse_args()
    tuning = traces("tuning")
    if args.calibrate:
        print(json.dumps({"calibration": calibrate(tuning)}))
        return
    a, b, n = tune_static(tuning)
    data = tuning if args.part == "tuning" else traces("test")
    started = time.process_time()
    found = [ours(m, t, v, args.min_confidence)[0] for m, t, v, _ in data]
    cost_ms = (time.process_time() - started) * 1000 / len(data)
    mine = scores([(truth, f) for (_, _, _, truth), f in zip(data, found)])
    theirs = scores([(truth, static(m, t, v, a, b, n)) for m, t, v, truth in data])
    report = {
        "part": args.part, "traces": len(data), "clean": sum(not truth for *_, truth in data),
        "detector": mine, "static": theirs, "static_tuned": {"above_max_x": a, "below_min_x": b, "status_changes": n},
        "ms_per_job": round(cost_ms, 2), "reliability": reliability(data, args.min_confidence),
    }
    print(json.dumps(report))
    if args.table:
        print("\n| label | n | detector P | R | F1 | static P | R | F1 |\n|---|---|---|---|---|---|---|---|")
        for label in (*LABELS, "overall"):
            x, y = mine[label], theirs[label]
            print(f"| {label} | {x['n']} | {x['precision']} | {x['recall']} | **{x['f1']}** | {y['precision']} | {y['recall']} | {y['f1']} |")


if __name__ == "__main__":
    main()
