"""Counter samples -> rates per second, never a spike. Pure functions, no I/O.

A rate is the difference of two samples of an SNMP counter divided by the time
between them. The samples are only comparable when nothing in between broke the
counter's continuity; when that cannot be shown, :func:`counter_rate` answers
``rate=None`` with a :class:`Reason`, and the caller keeps the new sample as the
next baseline. The rules, in the order they are checked:

1. **Comparable samples.** No previous sample, or a sample of a different
   counter width (the poller switched between ifHCInOctets and ifInOctets):
   no rate (``NO_PREVIOUS``, ``WIDTH_CHANGED``).
2. **Elapsed time.** The manager's elapsed time (``monotonic``) must be > 0
   (``NOT_ELAPSED``). The agent restarted in between (``REBOOT``) when its
   sysUpTime went backwards, unless a TimeTicks wrap (2**32 hundredths, 497
   days) explains it within the clock slack, or when the agent has been up for
   less time than has passed since the previous sample (minus the slack). The
   clock slack is ``max(2 s, 5 % of the manager's elapsed time)``: two polls'
   latencies differ by up to a timeout times the retries, and agents update
   sysUpTime in coarse steps. The elapsed time used for the rate is the
   agent's sysUpTime delta when it agrees with the manager's within that slack
   (the counters are sampled against the agent's clock, so a late answer does
   not distort the rate), and the manager's monotonic delta otherwise (no
   sysUpTime, a frozen or jumping agent clock).
3. **Discontinuity.** ifCounterDiscontinuityTime known in both samples and
   different: no rate (``DISCONTINUITY``).
4. **Ambiguous wrap (missing samples).** With the interface speed known, the
   most the counter can advance is ``speed x (1 + tolerance) x elapsed / unit_bits``.
   When that reaches the counter's modulus (2**32 or 2**64), the counter could
   have gone all the way round, so the observed delta is ambiguous: no rate
   (``TOO_LONG``). For a 32-bit octet counter at 1 Gbit/s that is 31 s, at
   100 Mbit/s 312 s; 64-bit counters never reach it. (Read "more than one wrap
   could have happened" strictly: one full revolution already makes "went up
   by d" and "went up by d + 2**32" indistinguishable.) ``max_elapsed`` adds a
   caller-chosen limit independent of the speed.
5. **Wrap, reset, over speed.** A counter that went backwards wrapped once
   (delta + modulus) if that delta fits in what the interface can carry;
   otherwise it was reset (``COUNTER_RESET``). A delta (wrapped or not) that
   implies more than the speed plus the tolerance is ``OVER_SPEED``.
6. **A reset the speed cannot tell.** A counter that went backwards is a
   reset, not a wrap, when the interface's state changed in between
   (``CounterSet.state``: its ifLastChange or its ifOperStatus; an interface
   deleted and created again under the same ifIndex changes both), and, without
   a usable speed (an agent with 32-bit counters and ifSpeed 0, say), when the
   wrap would imply more than ``PEAK_MARGIN`` times the most the counter has
   ever shown (``RateTracker`` keeps that peak, once it has seen
   ``PEAK_SAMPLES`` rates). The sample is then absent, never a spike.

Tolerance: 10 % above the interface speed by default. ifSpeed is nominal, while
ifInOctets counts framing characters (RFC 2863) and, on many agents, the FCS and
VLAN tags; agents cache counters for a few seconds (net-snmp refreshes its
interface table at most every few seconds), so one interval can hold a little
more than its share. 10 % admits those and still rejects every wrap or reset
artefact, which is off by orders of magnitude. When the speed is unknown (ifSpeed
0 on tunnels and some virtual interfaces), only an absolute ceiling of
:data:`CEILING_BPS` applies: a 64-bit reset is still caught, and a 32-bit counter
that went backwards is taken as one wrap (the usual assumption; pass a speed to
do better). Interfaces whose reported speed is known to be wrong (SVIs, some
LAGs) should be given ``speed=None`` by the caller.

Interface renumbering (ifIndex reassigned after a reboot or a module change) is
handled by :class:`RateTracker`, which keys the previous sample by
``(ifIndex, ifName)``: an index now naming another interface has no previous
sample, so its first rate is ``NO_PREVIOUS``, never a difference between two
interfaces' counters.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, NamedTuple

import attrs

TIMETICKS_MODULUS = 1 << 32  # sysUpTime and TimeStamp wrap after 497 days
CLOCK_SLACK_MIN = 2.0  # seconds
CLOCK_SLACK_RATIO = 0.05
DEFAULT_TOLERANCE = 0.10
CEILING_BPS = 2_000_000_000_000  # 2 Tbit/s: no single interface carries more (800GbE, 1.6TbE)
# Rule 6: a wrap implying more than this many times the counter's peak is a reset; the peak
# counts once this many rates made it. A tenfold burst exactly at a wrap loses one sample.
PEAK_MARGIN = 4.0
PEAK_SAMPLES = 3
OCTET_BITS = 8  # unit_bits for octet counters
# unit_bits for packet, error and discard counters: the smallest packet is an IPv4
# header alone (20 octets); generous on purpose, it only has to catch artefacts.
PACKET_BITS = 20 * 8


class Reason(enum.StrEnum):
    OK = "ok"
    WRAPPED = "wrapped"  # valid: the counter wrapped once
    NO_PREVIOUS = "no_previous"
    WIDTH_CHANGED = "width_changed"
    NOT_ELAPSED = "not_elapsed"
    REBOOT = "reboot"
    DISCONTINUITY = "discontinuity"
    TOO_LONG = "too_long"
    COUNTER_RESET = "counter_reset"
    OVER_SPEED = "over_speed"
    NO_COUNTER = "no_counter"  # the agent did not give the counter (or gave one outside its width)


# Why a rate is absent, for people (the REST API's interface rows); OK and WRAPPED have a rate.
REASON_TEXT = {
    Reason.NO_PREVIOUS: "no earlier sample to compare with yet",
    Reason.WIDTH_CHANGED: "the agent switched between its 64-bit and 32-bit counters since the last poll",
    Reason.NOT_ELAPSED: "no time passed since the last poll",
    Reason.REBOOT: "the agent restarted since the last poll",
    Reason.DISCONTINUITY: "the counters were reset (ifCounterDiscontinuityTime moved)",
    Reason.TOO_LONG: (
        "the counters could wrap more than once between two polls at the interface's speed "
        "(32-bit counters: poll more often, or use SNMPv2c or v3 for 64-bit counters)"
    ),
    Reason.COUNTER_RESET: (
        "the counter went backwards and was reset, not wrapped (the interface changed state, "
        "was re-created, or a wrap would mean far more than it has ever carried)"
    ),
    Reason.OVER_SPEED: "the counter advanced faster than the interface can carry",
    Reason.NO_COUNTER: "the agent gives no such counter",
}


def explain(reason: Reason) -> str:
    """'<reason>: <why, for people>' for a reason without a rate."""
    return f"{reason}: {REASON_TEXT[reason]}"


def _width(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value not in (32, 64):
        raise ValueError(f"counter width must be 32 or 64, not {value!r}")


def _optional_non_negative(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


@attrs.frozen
class CounterSample:
    """One reading of one counter.

    value: the counter (0 <= value < 2**width). width: 32 (ifInOctets) or 64
    (ifHCInOctets). uptime: the agent's sysUpTime in hundredths of a second, read
    in the same poll, or None. monotonic: the manager's monotonic clock (seconds)
    when the answer arrived. discontinuity: ifCounterDiscontinuityTime
    (hundredths) if the agent has it. speed: the interface speed in bit/s if
    known (see eyenet.collect.interface_speed).
    """

    value: int
    width: int = attrs.field(validator=_width)
    uptime: int | None
    monotonic: float
    discontinuity: int | None = attrs.field(default=None, validator=_optional_non_negative)
    speed: int | None = attrs.field(default=None, validator=_optional_non_negative)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.value < (1 << self.width):
            raise ValueError(f"counter value {self.value} out of range for {self.width} bits")
        if self.uptime is not None and not 0 <= self.uptime < TIMETICKS_MODULUS:
            raise ValueError(f"sysUpTime {self.uptime} out of range for TimeTicks")
        if not math.isfinite(self.monotonic):
            raise ValueError("monotonic time must be finite")


@attrs.frozen
class RateResult:
    """rate: counter units per second, or None with the reason. elapsed: the seconds
    used (None when not computed); clock: "agent" or "manager", the clock they came
    from; delta: the counter increase, wrap included."""

    rate: float | None
    reason: Reason
    elapsed: float | None = None
    delta: int | None = None
    clock: str | None = None

    @property
    def valid(self) -> bool:
        return self.rate is not None

    @property
    def bits(self) -> float | None:
        """Bits per second, for an octet counter (x8)."""
        return None if self.rate is None else self.rate * OCTET_BITS


def as_timeticks(value: int | None) -> int | None:
    """value when it is a valid TimeTicks (what CounterSample checks), else None."""
    return value if value is not None and 0 <= value < TIMETICKS_MODULUS else None


def pick_counter(hc_value: int | None, value32: int | None) -> tuple[int, int] | None:
    """(value, width): the 64-bit counter when the agent has it, else the 32-bit one."""
    if hc_value is not None:
        return hc_value, 64
    if value32 is not None:
        return value32, 32
    return None


def _clock_slack(manager_elapsed: float) -> float:
    return max(CLOCK_SLACK_MIN, CLOCK_SLACK_RATIO * manager_elapsed)


def elapsed_between(prev: CounterSample | CounterSet, cur: CounterSample | CounterSet) -> tuple[float | None, Reason | str]:
    """(seconds, "agent" | "manager"), or (None, NOT_ELAPSED | REBOOT): rule 2 above."""
    return _elapsed(prev.monotonic, prev.uptime, cur.monotonic, cur.uptime)


# Every interface of a poll has the same two clocks, against the same previous poll: once a poll.
@functools.lru_cache(maxsize=1024)
def _elapsed(prev_monotonic: float, prev_uptime: int | None, monotonic: float, uptime: int | None) -> tuple[float | None, Reason | str]:
    manager = monotonic - prev_monotonic
    if manager <= 0:
        return None, Reason.NOT_ELAPSED
    if prev_uptime is None or uptime is None:
        return manager, "manager"
    slack = _clock_slack(manager)
    ticks = uptime - prev_uptime
    if ticks < 0:
        wrapped = (ticks % TIMETICKS_MODULUS) / 100
        if abs(wrapped - manager) > slack:
            return None, Reason.REBOOT
        return wrapped, "agent"
    if uptime / 100 + slack < manager:
        return None, Reason.REBOOT  # up for less time than has passed: restarted in between
    agent = ticks / 100
    if agent > 0 and abs(agent - manager) <= slack:
        return agent, "agent"
    return manager, "manager"


def counter_rate(
    prev: CounterSample | None,
    cur: CounterSample,
    *,
    unit_bits: float = OCTET_BITS,
    tolerance: float = DEFAULT_TOLERANCE,
    max_elapsed: float | None = None,
) -> RateResult:
    """The rate of a counter between two samples, or None and why (see the module doc).

    unit_bits: the fewest bits one counted unit stands for, to compare with the
    interface speed: OCTET_BITS for octet counters, PACKET_BITS for packets,
    errors and discards.
    """
    if prev is None:
        return RateResult(None, Reason.NO_PREVIOUS)
    if prev.width != cur.width:
        return RateResult(None, Reason.WIDTH_CHANGED)
    elapsed, clock, broken = _continuity(prev, cur, max_elapsed)
    if broken is not None:
        return RateResult(None, broken, elapsed=elapsed, clock=clock)
    # elapsed is a float once broken is None, which mypy cannot tell from unpacked names;
    # a check here would be one more on every counter of every poll.
    rate, reason, delta = _advance(
        prev.value, cur.value, cur.width, elapsed, _top_speed(prev, cur), unit_bits, tolerance  # type: ignore[arg-type]
    )
    return RateResult(rate, reason, elapsed=elapsed, delta=delta, clock=clock)


def _continuity(
    prev: CounterSample | CounterSet, cur: CounterSample | CounterSet, max_elapsed: float | None
) -> tuple[float | None, str | None, Reason | None]:
    """Rules 2 and 3, shared by every counter of a sample: (elapsed, clock, None), or what broke."""
    elapsed, clock = elapsed_between(prev, cur)
    if elapsed is None:
        return None, None, Reason(clock)
    if max_elapsed is not None and elapsed > max_elapsed:
        return elapsed, clock, Reason.TOO_LONG
    if prev.discontinuity is not None and cur.discontinuity is not None and prev.discontinuity != cur.discontinuity:
        return elapsed, clock, Reason.DISCONTINUITY
    return elapsed, clock, None


def _top_speed(prev: CounterSample | CounterSet, cur: CounterSample | CounterSet) -> int | None:
    return max(prev.speed or 0, cur.speed or 0) or None


def _advance(
    old: int, new: int, width: int, elapsed: float, speed: int | None, unit_bits: float, tolerance: float,
    changed: bool = False, peak: float | None = None,
) -> tuple[float | None, Reason, int | None]:
    """Rules 4 to 6 for one counter: (rate or None, reason, delta). changed: the interface's
    state changed since the previous sample; peak: the most it has shown (units a second)."""
    modulus = 1 << width
    if speed:
        max_delta = speed * (1 + tolerance) * elapsed / unit_bits
        if max_delta >= modulus:
            return None, Reason.TOO_LONG, None
    else:
        max_delta = CEILING_BPS * elapsed / unit_bits
    delta = new - old
    wrapped = delta < 0
    if wrapped:
        delta += modulus
    if delta > max_delta:
        return None, Reason.COUNTER_RESET if wrapped else Reason.OVER_SPEED, delta
    if wrapped and (changed or (not speed and peak is not None and delta / elapsed > PEAK_MARGIN * peak)):
        return None, Reason.COUNTER_RESET, delta
    return delta / elapsed, Reason.WRAPPED if wrapped else Reason.OK, delta


class CounterSet(NamedTuple):
    """Several counters of one interface read in one poll: one CounterSample per counter,
    sharing what makes two polls comparable (uptime, clock, discontinuity, speed). A value
    of None, or one outside its width, is a counter the agent did not give. A NamedTuple
    without checks: the poller makes one per interface per poll."""

    values: tuple[int | None, ...]
    widths: tuple[int, ...]
    uptime: int | None  # as_timeticks(sysUpTime): checked once per poll, not per counter
    monotonic: float
    discontinuity: int | None = None
    speed: int | None = None
    state: Hashable = None  # what tells a re-created interface (rule 6): (ifLastChange, ifOperStatus)


def counter_set_rates(prev: CounterSet | None, cur: CounterSet, unit_bits: Sequence[float], **options: Any) -> list[float | None]:
    """counter_rate() of each counter of cur against the same one of prev, rates only: the
    rules shared by all counters (elapsed time, discontinuity) are checked once. options:
    those of counter_set_results (tolerance, max_elapsed, peaks)."""
    return counter_set_results(prev, cur, unit_bits, **options)[0]


def counter_set_results(
    prev: CounterSet | None,
    cur: CounterSet,
    unit_bits: Sequence[float],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_elapsed: float | None = None,
    peaks: Sequence[float | None] = (),
) -> tuple[list[float | None], list[Reason]]:
    """counter_set_rates() with each counter's reason beside its rate (OK or WRAPPED when it
    has one). peaks: each counter's peak rate so far (rule 6), None or missing where unknown."""
    if prev is None:
        return [None] * len(cur.values), [Reason.NO_PREVIOUS] * len(cur.values)
    elapsed, _, broken = _continuity(prev, cur, max_elapsed)
    if broken is not None:
        return [None] * len(cur.values), [broken] * len(cur.values)
    speed = _top_speed(prev, cur)
    changed = prev.state is not None and cur.state is not None and prev.state != cur.state
    rates: list[float | None] = []
    reasons: list[Reason] = []
    for k, (old, new, old_width, width, bits) in enumerate(zip(prev.values, cur.values, prev.widths, cur.widths, unit_bits)):
        if old is None or new is None or not (0 <= old < 1 << old_width and 0 <= new < 1 << width):
            rates.append(None)
            reasons.append(Reason.NO_COUNTER)
        elif old_width != width:
            rates.append(None)
            reasons.append(Reason.WIDTH_CHANGED)
        else:
            peak = peaks[k] if k < len(peaks) else None
            rate, reason, _ = _advance(old, new, width, elapsed, speed, bits, tolerance, changed, peak)  # type: ignore[arg-type]  # as in counter_rate
            rates.append(rate)
            reasons.append(reason)
    return rates, reasons


class InterfaceKey(NamedTuple):
    """What identifies an interface across polls: its ifIndex and its name (ifName,
    or ifDescr where ifName is missing). A renumbered interface is a new key.
    (A NamedTuple: it is hashed for every interface of every poll.)"""

    if_index: int
    name: str


class RateTracker:
    """The previous CounterSet of each interface key; pure, no I/O.

    ``update(key, sample, unit_bits)`` returns the rates of the sample's counters
    against the previous sample of the same key (counter_set_rates; ``results`` gives
    their reasons too), and keeps the new one as the next baseline (whatever the result: after a reboot the post-reboot
    sample is the baseline). ``retain(keys)`` forgets interfaces that are gone, so a
    later interface that reuses an ifIndex under another name starts afresh.
    """

    def __init__(self, **rate_options: Any) -> None:
        self._last: dict[Hashable, CounterSet] = {}
        # Per key: the rates seen so far, and each counter's peak (rule 6).
        self._peaks: dict[Hashable, tuple[int, list[float | None]]] = {}
        self._options = rate_options

    def update(self, key: Hashable, sample: CounterSet, unit_bits: Sequence[float]) -> list[float | None]:
        return self.results(key, sample, unit_bits)[0]

    def results(self, key: Hashable, sample: CounterSet, unit_bits: Sequence[float]) -> tuple[list[float | None], list[Reason]]:
        """update(), with each counter's reason (counter_set_results)."""
        seen, peaks = self._peaks.get(key, (0, []))
        known = peaks if seen >= PEAK_SAMPLES else ()
        result, reasons = counter_set_results(self._last.get(key), sample, unit_bits, peaks=known, **self._options)
        self._last[key] = sample
        if any(r is not None for r in result):
            grown = [r if p is None else p if r is None else max(p, r) for p, r in zip(peaks or [None] * len(result), result)]
            self._peaks[key] = (seen + 1, grown)
        return result, reasons

    def retain(self, keys: Iterable[Hashable]) -> None:
        keep = set(keys)
        for k in [k for k in self._last if k not in keep]:
            del self._last[k]
            self._peaks.pop(k, None)

    def __len__(self) -> int:
        return len(self._last)
