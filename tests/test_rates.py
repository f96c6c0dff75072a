"""Counter rates: wrap, reboot, discontinuity, missing samples, speed cap, renumbering."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from eyenet.collect.rates import (
    CEILING_BPS,
    OCTET_BITS,
    PACKET_BITS,
    CounterSample,
    CounterSet,
    InterfaceKey,
    RateTracker,
    Reason,
    counter_rate,
    counter_set_rates,
    elapsed_between,
    pick_counter,
)

GIG = 1_000_000_000
M32 = 1 << 32
M64 = 1 << 64


def sample(value, *, width=64, uptime=100_000, t=1000.0, disc=None, speed=GIG):
    return CounterSample(value=value, width=width, uptime=uptime, monotonic=t, discontinuity=disc, speed=speed)


def pair(v0, v1, seconds=10.0, **kw):
    """Two samples `seconds` apart on both clocks."""
    a = sample(v0, **kw)
    b = sample(v1, **{**kw, "uptime": kw.get("uptime", 100_000) + int(seconds * 100), "t": kw.get("t", 1000.0) + seconds})
    return a, b


# -- plain and wrapped -----------------------------------------------------------


def test_plain_rate_and_bits():
    r = counter_rate(*pair(1_000, 1_000 + 125_000_000, 10))  # 100 Mbit/s
    assert r.reason is Reason.OK and r.clock == "agent"
    assert r.rate == 12_500_000 and r.bits == 100_000_000


def test_idle_counter_is_zero():
    r = counter_rate(*pair(5, 5))
    assert r.rate == 0 and r.valid


def test_wrap_32():
    a, b = pair(M32 - 1_000, 4_000, 10, width=32, speed=100_000_000)
    r = counter_rate(a, b)
    assert r.reason is Reason.WRAPPED and r.delta == 5_000 and r.rate == 500


def test_wrap_64():
    a, b = pair(M64 - 10, 90, 10, width=64, speed=GIG)
    r = counter_rate(a, b)
    assert r.reason is Reason.WRAPPED and r.delta == 100 and r.rate == 10


@given(
    width=st.sampled_from([32, 64]),
    start=st.integers(min_value=0),
    bps=st.integers(min_value=0, max_value=10 * GIG),
    seconds=st.integers(min_value=1, max_value=300),
)
def test_any_true_rate_within_speed_is_recovered(width, start, bps, seconds):
    """Whatever the starting value (wrap or not), a true delta the link can carry
    comes back exactly, as long as the counter cannot go all the way round."""
    speed = 10 * GIG
    start %= 1 << width
    delta = bps * seconds // 8
    assume(speed * 1.1 * seconds / 8 < (1 << width))  # else TOO_LONG, tested apart
    a, b = pair(start, (start + delta) % (1 << width), seconds, width=width, speed=speed)
    r = counter_rate(a, b)
    assert r.valid and r.delta == delta
    assert r.reason is (Reason.WRAPPED if start + delta >= 1 << width else Reason.OK)
    assert r.bits == pytest.approx(delta * 8 / seconds)


@given(
    width=st.sampled_from([32, 64]),
    v0=st.integers(min_value=0),
    v1=st.integers(min_value=0),
    seconds=st.floats(min_value=0.01, max_value=10_000),
    speed=st.one_of(st.none(), st.integers(min_value=1, max_value=400 * GIG)),
    reboot=st.booleans(),
)
def test_never_a_spike(width, v0, v1, seconds, speed, reboot):
    """Whatever two samples say, a rate is never above speed + 10 % (or the ceiling)."""
    v0 %= 1 << width
    v1 %= 1 << width
    a = sample(v0, width=width, speed=speed, uptime=10_000_000)
    b = sample(v1, width=width, speed=speed, t=1000.0 + seconds,
               uptime=5 if reboot else 10_000_000 + int(seconds * 100))
    r = counter_rate(a, b)
    if r.valid:
        assert r.bits <= (speed * 1.1 if speed else CEILING_BPS) + 1e-6
        assert not reboot or seconds < 2  # a 0.05 s uptime is consistent with a tiny interval
    else:
        assert r.reason not in (Reason.OK, Reason.WRAPPED)


# -- reboot and discontinuity -----------------------------------------------------


def test_reboot_uptime_backwards():
    a = sample(50_000_000, uptime=8_640_000, t=1000.0)  # up a day
    b = sample(1_000, uptime=3_000, t=1300.0)  # up 30 s
    assert counter_rate(a, b).reason is Reason.REBOOT


def test_reboot_counter_reset_even_if_counter_looks_like_a_wrap_32():
    # A 32-bit counter near the top goes to a small value: a wrap within speed,
    # but sysUpTime says the agent restarted.
    a = sample(M32 - 100, width=32, uptime=500_000, t=1000.0, speed=100_000_000)
    b = sample(100, width=32, uptime=1_000, t=1010.0, speed=100_000_000)
    assert counter_rate(a, b).reason is Reason.REBOOT


def test_reboot_within_interval_uptime_forward():
    # Up 100 s, then 600 s pass, and the agent says up 200 s: it restarted in between.
    a = sample(1_000_000, uptime=10_000, t=1000.0)
    b = sample(9_000_000, uptime=20_000, t=1600.0)
    assert counter_rate(a, b).reason is Reason.REBOOT


def test_timeticks_wrap_is_not_a_reboot():
    a = sample(1_000, uptime=M32 - 500, t=1000.0)  # 497 days up
    b = sample(2_000, uptime=500, t=1010.0)
    r = counter_rate(a, b)
    assert r.reason is Reason.OK and r.elapsed == 10 and r.clock == "agent"


def test_snmpd_restart_counters_kept_is_still_no_rate():
    # net-snmp restarted (sysUpTime reset), kernel counters continued: one lost sample.
    a = sample(1_000_000, uptime=900_000, t=1000.0)
    b = sample(2_000_000, uptime=200, t=1060.0)
    assert counter_rate(a, b).reason is Reason.REBOOT


def test_discontinuity_time_changed():
    a, b = pair(1_000, 2_000, 10, disc=0)
    b = CounterSample(b.value, b.width, b.uptime, b.monotonic, discontinuity=100_500, speed=b.speed)
    assert counter_rate(a, b).reason is Reason.DISCONTINUITY
    a, b = pair(1_000, 2_000, 10, disc=4242)
    assert counter_rate(a, b).valid  # unchanged: fine


def test_discontinuity_unknown_on_one_side_is_ignored():
    a, b = pair(1_000, 2_000, 10)
    b = CounterSample(b.value, b.width, b.uptime, b.monotonic, discontinuity=7, speed=b.speed)
    assert counter_rate(a, b).valid


def test_counter_reset_64_without_reboot():
    # Counters cleared ("clear counters") with no ifCounterDiscontinuityTime support.
    r = counter_rate(*pair(10**12, 5_000, 10))
    assert r.reason is Reason.COUNTER_RESET and r.rate is None


def test_counter_reset_64_unknown_speed():
    r = counter_rate(*pair(10**12, 5_000, 10, speed=None))
    assert r.reason is Reason.COUNTER_RESET


def test_counter_backwards_32_beyond_speed_is_reset():
    # 32-bit on a 10 Mbit/s link: a "wrap" of ~4 GB in 10 s is impossible.
    r = counter_rate(*pair(3_000_000_000, 1_000, 10, width=32, speed=10_000_000))
    assert r.reason is Reason.COUNTER_RESET


# -- elapsed time -------------------------------------------------------------


def test_same_time_or_backwards_clock():
    a = sample(1, t=1000.0)
    assert counter_rate(a, sample(2, t=1000.0)).reason is Reason.NOT_ELAPSED
    assert counter_rate(a, sample(2, t=999.0)).reason is Reason.NOT_ELAPSED


def test_agent_clock_preferred_when_consistent():
    # The answer came 1.5 s late (a retry): the agent's 10 s is what the counters saw.
    a = sample(0, uptime=100_000, t=1000.0)
    b = sample(1_250_000, uptime=101_000, t=1011.5)
    r = counter_rate(a, b)
    assert r.clock == "agent" and r.elapsed == 10 and r.rate == 125_000


def test_manager_clock_when_agent_clock_is_frozen_or_absent():
    a = sample(0, uptime=100_000, t=1000.0)
    frozen = sample(600_000, uptime=100_000, t=1060.0)
    r = counter_rate(a, frozen)
    assert r.clock == "manager" and r.elapsed == 60 and r.rate == 10_000
    a = sample(0, uptime=None, t=1000.0)
    r = counter_rate(a, sample(600_000, uptime=None, t=1060.0))
    assert r.clock == "manager" and r.rate == 10_000


def test_manager_clock_when_agent_clock_runs_fast():
    a = sample(0, uptime=100_000, t=1000.0)
    b = sample(600_000, uptime=130_000, t=1060.0)  # agent says 300 s passed in 60
    assert elapsed_between(a, b) == (60.0, "manager")


def test_missing_samples_32bit_too_long():
    # 32-bit octets at 1 Gbit/s go round in 34 s (31 s with the tolerance): a 60 s
    # gap is ambiguous, a 20 s one is not.
    a, b = pair(1_000, 2_000, 60, width=32, speed=GIG)
    assert counter_rate(a, b).reason is Reason.TOO_LONG
    a, b = pair(1_000, 2_000, 20, width=32, speed=GIG)
    assert counter_rate(a, b).valid


def test_missing_samples_64bit_never_too_long():
    a, b = pair(1_000, 2_000, 86_400 * 30, width=64, speed=400 * GIG)
    assert counter_rate(a, b).valid


def test_max_elapsed_option():
    a, b = pair(1_000, 2_000, 3_600)
    assert counter_rate(a, b, max_elapsed=600).reason is Reason.TOO_LONG
    assert counter_rate(a, b).valid


# -- speed cap --------------------------------------------------------------------


def test_over_speed():
    # 100 Mbit/s link, the delta says 150 Mbit/s.
    r = counter_rate(*pair(0, 150_000_000 // 8 * 10, 10, speed=100_000_000))
    assert r.reason is Reason.OVER_SPEED and r.rate is None


def test_tolerance_admits_framing_overhead():
    speed = 100_000_000
    just_over = int(speed * 1.08 / 8 * 10)  # 8 % over nominal: accepted
    assert counter_rate(*pair(0, just_over, 10, speed=speed)).valid
    too_much = int(speed * 1.12 / 8 * 10)
    assert counter_rate(*pair(0, too_much, 10, speed=speed)).reason is Reason.OVER_SPEED
    assert counter_rate(*pair(0, too_much, 10, speed=speed), tolerance=0.2).valid


def test_speed_change_uses_the_higher_speed():
    a = sample(0, speed=100_000_000)
    b = sample(500_000_000 // 8 * 10, uptime=101_000, t=1010.0, speed=GIG)  # 500 Mbit/s after renegotiation
    assert counter_rate(a, b).valid


def test_packet_counters_use_packet_bits():
    # 1 Gbit/s carries at most ~6.25 M minimal packets a second by our bound.
    ok = counter_rate(*pair(0, 1_000_000 * 10, 10), unit_bits=PACKET_BITS)
    assert ok.rate == 1_000_000
    bad = counter_rate(*pair(0, 10_000_000 * 10, 10), unit_bits=PACKET_BITS)
    assert bad.reason is Reason.OVER_SPEED


def test_pick_counter_prefers_64():
    assert pick_counter(5, 7) == (5, 64)
    assert pick_counter(None, 7) == (7, 32)
    assert pick_counter(None, None) is None


def test_32bit_fallback_on_slow_interface():
    value, width = pick_counter(None, M32 - 50_000)
    a = sample(value, width=width, speed=10_000_000)
    b = sample(200_000, width=32, uptime=106_000, t=1060.0, speed=10_000_000)
    r = counter_rate(a, b)
    assert r.reason is Reason.WRAPPED and r.delta == 250_000


def test_width_change_is_not_compared():
    a = sample(M32 + 5, width=64)
    b = sample(10, width=32, uptime=101_000, t=1010.0)
    assert counter_rate(a, b).reason is Reason.WIDTH_CHANGED


def counters(*values, width=64, uptime=100_000, t=1000.0, disc=None, speed=GIG):
    """A CounterSet of octets in and errors in."""
    return CounterSet(values, (width, 32), uptime, t, disc, speed)


UNITS = (OCTET_BITS, PACKET_BITS)


def test_tracker_renumbering():
    tracker = RateTracker()
    gi1, gi2 = InterfaceKey(5, "Gi0/1"), InterfaceKey(5, "Gi0/2")
    assert tracker.update(gi1, counters(10**9, 0), UNITS) == [None, None]  # no previous sample
    assert tracker.update(gi1, counters(10**9 + 1_000, 10, uptime=101_000, t=1010.0), UNITS) == [100, 1]
    # ifIndex 5 now names another interface with a smaller counter: no comparison.
    assert tracker.update(gi2, counters(20, 0, uptime=102_000, t=1020.0), UNITS) == [None, None]
    assert tracker.update(gi2, counters(1_020, 0, uptime=103_000, t=1030.0), UNITS) == [100, 0]
    tracker.retain([gi2])
    assert len(tracker) == 1
    assert tracker.update(gi1, counters(10**9 + 5_000, 0, uptime=104_000, t=1040.0), UNITS) == [None, None]


def test_tracker_keeps_post_reboot_baseline():
    tracker = RateTracker()
    key = InterfaceKey(1, "eth0")
    tracker.update(key, counters(10**9, 5, uptime=900_000, t=1000.0), UNITS)
    assert tracker.update(key, counters(100, 0, uptime=2_000, t=1060.0), UNITS) == [None, None]  # rebooted
    rates = tracker.update(key, counters(1_100, 60, uptime=8_000, t=1120.0), UNITS)
    assert rates == [pytest.approx(1_000 / 60), 1]


def test_counter_set_gives_each_counter_its_own_width_and_unit():
    a = CounterSet((M32 - 500, 0, None, 7), (32, 32, 32, 64), 100_000, 1000.0, None, 10_000_000)
    b = CounterSet((500, 10 * M32, 3, 9), (32, 32, 32, 32), 101_000, 1010.0, None, 10_000_000)
    # wrapped once; a value outside its width, a missing one and a width change give no rate
    assert counter_set_rates(a, b, (OCTET_BITS,) * 4) == [100, None, None, None]
    # 10**5 a second: as octets 800 kbit/s on a 10 Mbit/s link; as packets of 20 octets or more, over its speed
    c = CounterSet((0,), (32,), 100_000, 1000.0, None, 10_000_000)
    d = CounterSet((10**6,), (32,), 101_000, 1010.0, None, 10_000_000)
    assert counter_set_rates(c, d, (OCTET_BITS,)) == [10**5]
    assert counter_set_rates(c, d, (PACKET_BITS,)) == [None]


def test_a_backwards_counter_of_a_changed_interface_is_a_reset_not_a_wrap():
    """An interface deleted and created again under its ifIndex, on an agent with 32-bit
    counters and no speed: its counter restarts near 0, which a wrap would read as
    ~6.5 Gbit/s. Its ifLastChange (or status) moved: a reset, no rate, never a spike."""
    before = CounterSet((M32 - 10**9,), (32,), 100_000, 1000.0, None, None, (5_000, "up"))
    after = CounterSet((10**6,), (32,), 106_000, 1060.0, None, None, (105_000, "up"))
    assert counter_set_rates(before, after, (OCTET_BITS,)) == [None]
    # The same numbers with the interface unchanged: one wrap, as before.
    same = after._replace(state=(5_000, "up"))
    assert counter_set_rates(before, same, (OCTET_BITS,)) == [pytest.approx((M32 - (M32 - 10**9) + 10**6) / 60)]
    # Status alone changed (down and up again within the interval): a reset too; going
    # forwards, a state change is no reason to doubt the rate.
    assert counter_set_rates(before, after._replace(state=(5_000, "down")), (OCTET_BITS,)) == [None]
    forwards = CounterSet((10**6,), (32,), 100_000, 1000.0, None, None, (5_000, "up"))
    assert counter_set_rates(forwards, after, (OCTET_BITS,)) == [0]


def test_a_wrap_far_above_the_interfaces_peak_is_a_reset_when_its_speed_is_unknown():
    """No speed, no state change (an agent that leaves ifLastChange alone): a wrap implying
    more than PEAK_MARGIN x what the counter has shown, once PEAK_SAMPLES rates made its peak."""
    from eyenet.collect.rates import PEAK_MARGIN, PEAK_SAMPLES

    rate, step = 740_000_000 // 8, 5  # 740 Mbit/s, in octets a second; polled every 5 s

    def poller():
        tracker, clock = RateTracker(), iter(range(1000, 2000, step))

        def poll(value):
            t = next(clock)
            return tracker.update(InterfaceKey(3, "eth3"), CounterSet((value,), (32,), t * 100, float(t), None, None), (OCTET_BITS,))
        return poll

    # Steady traffic: every rate, the wraps' included (one every ~46 s at this rate).
    poll, value = poller(), 10**8
    assert poll(value) == [None]
    for _ in range(12):
        value = (value + rate * step) % M32
        assert poll(value) == [rate]
    # The counter restarts near 0 with nothing else saying so: read as a wrap, 4.5 Gbit/s.
    poll, value = poller(), 10**8
    poll(value)
    for _ in range(PEAK_SAMPLES):
        value += rate * step
        assert poll(value) == [rate]
    assert (M32 - value + 10**6) / step > PEAK_MARGIN * rate and poll(10**6) == [None]


optional_speed = st.one_of(st.none(), st.sampled_from([10_000_000, GIG, 100 * GIG]))


@given(
    width=st.sampled_from([32, 64]),
    old=st.integers(0, M64 - 1),
    new=st.integers(0, M64 - 1),
    uptimes=st.tuples(st.one_of(st.none(), st.integers(0, M32 - 1)), st.one_of(st.none(), st.integers(0, M32 - 1))),
    elapsed=st.floats(-5, 10**6, allow_nan=False),
    discs=st.tuples(st.one_of(st.none(), st.integers(0, 3)), st.one_of(st.none(), st.integers(0, 3))),
    speeds=st.tuples(optional_speed, optional_speed),
    unit_bits=st.sampled_from([OCTET_BITS, PACKET_BITS]),
    max_elapsed=st.one_of(st.none(), st.floats(1, 10**5)),
)
def test_counter_set_rates_equal_counter_rate(width, old, new, uptimes, elapsed, discs, speeds, unit_bits, max_elapsed):
    """The per-interface path computes exactly what counter_rate does, counter by counter."""
    old, new = old % (1 << width), new % (1 << width)
    a = CounterSample(old, width, uptimes[0], 1000.0, discs[0], speeds[0])
    b = CounterSample(new, width, uptimes[1], 1000.0 + elapsed, discs[1], speeds[1])
    expected = counter_rate(a, b, unit_bits=unit_bits, max_elapsed=max_elapsed).rate
    as_set = [CounterSet((s.value,), (s.width,), s.uptime, s.monotonic, s.discontinuity, s.speed) for s in (a, b)]
    assert counter_set_rates(*as_set, (unit_bits,), max_elapsed=max_elapsed) == [expected]


def test_sample_validation():
    with pytest.raises(ValueError):
        sample(M32, width=32)
    with pytest.raises(ValueError):
        sample(-1)
    with pytest.raises(ValueError):
        sample(1, width=16)
    with pytest.raises(ValueError):
        sample(1, uptime=M32)


def test_each_absent_rate_has_its_reason():
    from eyenet.collect.rates import REASON_TEXT, Reason, counter_set_results, explain

    tracker, key = RateTracker(), InterfaceKey(2, "eth0")
    first = CounterSet((M32 - 10, None, 5), (32, 32, 64), 100_000, 1000.0, None, 10_000_000_000)
    assert tracker.results(key, first, (OCTET_BITS,) * 3) == ([None] * 3, [Reason.NO_PREVIOUS] * 3)
    # 32-bit octets at 10 Gbit/s wrap in 3.1 s: polled every 10 s the count is ambiguous.
    later = CounterSet((10, 7, 6), (32, 32, 32), 101_000, 1010.0, None, 10_000_000_000)
    assert tracker.results(key, later, (OCTET_BITS,) * 3) == (
        [None] * 3, [Reason.TOO_LONG, Reason.NO_COUNTER, Reason.WIDTH_CHANGED])
    back = CounterSet((5,), (32,), 100_500, 1005.0, None, None, (9, "up"))
    assert counter_set_results(first._replace(speed=None, state=(1, "up")), back, (OCTET_BITS,)) == (
        [None], [Reason.COUNTER_RESET])
    assert set(REASON_TEXT) == set(Reason) - {Reason.OK, Reason.WRAPPED}
    assert explain(Reason.TOO_LONG).startswith("too_long: ") and "32-bit" in explain(Reason.TOO_LONG)
