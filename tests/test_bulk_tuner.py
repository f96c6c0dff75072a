"""BulkTuner, the self-tuning GETBULK max-repetitions: pure arithmetic, no I/O."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from eyenet.snmp.bulk import BulkTuner

QUICK_RTT = 0.001
TIMEOUT = 1.0


def full(tuner: BulkTuner, nbytes_per_varbind: int = 20, rtt: float = QUICK_RTT) -> int:
    """One quick, whole answer of tuner.size varbinds; the size that was asked."""
    asked = tuner.size
    tuner.on_response(asked, asked, 30 + nbytes_per_varbind * asked, rtt, TIMEOUT, False)
    return asked


# -- construction ------------------------------------------------------------------


def test_defaults():
    t = BulkTuner()
    assert (t.size, t.cap, t.floor, t.size_limit, t.ceiling) == (25, 100, 1, None, None)


@pytest.mark.parametrize("size, cap, expected", [(500, 100, 100), (0, 100, 1), (-3, 100, 1), (7, 100, 7), (25, 10, 10)])
def test_initial_size_is_clamped(size, cap, expected):
    assert BulkTuner(size=size, cap=cap).size == expected


def test_initial_size_is_clamped_to_a_known_ceiling():
    assert BulkTuner(size=50, ceiling=10).size == 10


# -- growth ------------------------------------------------------------------------


def test_grows_by_half_on_quick_whole_answers_up_to_the_cap():
    t = BulkTuner()
    asked = [full(t) for _ in range(8)]
    assert asked == [25, 37, 55, 82, 100, 100, 100, 100]
    assert t.size == 100


def test_small_sizes_grow_by_at_least_one():
    t = BulkTuner(size=1)
    assert [full(t) for _ in range(5)] == [1, 2, 3, 4, 6]


def test_growth_stops_at_the_ceiling():
    t = BulkTuner(size=10)
    t.on_too_big(41)
    assert t.ceiling == 40
    for _ in range(20):
        assert full(t) <= 40
    assert t.size == 40


def test_growth_stops_at_a_lower_cap():
    t = BulkTuner(size=5, cap=30)
    for _ in range(20):
        full(t)
    assert t.size == 30


def test_no_growth_when_slow():
    t = BulkTuner()
    t.on_response(25, 25, 600, 0.3, TIMEOUT, False)  # more than a quarter of the timeout
    assert t.size == 25
    t.on_response(25, 25, 600, 0.25, TIMEOUT, False)  # exactly a quarter still counts as quick
    assert t.size == 37


def test_no_growth_on_the_last_short_answer_of_a_walk():
    t = BulkTuner()
    t.on_response(25, 3, 100, QUICK_RTT, TIMEOUT, True)
    assert (t.size, t.size_limit) == (25, None)


def test_ended_whole_answer_still_grows():
    t = BulkTuner()
    t.on_response(25, 25, 600, QUICK_RTT, TIMEOUT, True)
    assert t.size == 37


# -- shrinking ---------------------------------------------------------------------


def test_timeout_halves_down_to_the_floor():
    t = BulkTuner()
    sizes = []
    for _ in range(7):
        t.on_timeout()
        sizes.append(t.size)
    assert sizes == [12, 6, 3, 1, 1, 1, 1]


def test_too_big_sets_a_ceiling_and_halves():
    t = BulkTuner(size=60)
    t.on_too_big(60)
    assert (t.ceiling, t.size) == (59, 30)
    # A later tooBig at a larger size (a stale request) does not raise the ceiling.
    t.on_too_big(80)
    assert t.ceiling == 59
    t.on_too_big(20)
    assert (t.ceiling, t.size) == (19, 10)


def test_too_big_at_one_keeps_the_floor():
    t = BulkTuner(size=1)
    t.on_too_big(1)
    assert (t.ceiling, t.size) == (1, 1)


def test_trim_learns_the_agents_size_limit():
    t = BulkTuner(size=50)
    t.on_response(50, 10, 1000, QUICK_RTT, TIMEOUT, False)
    assert (t.size_limit, t.size) == (1000, 10)
    # The size limit only ever goes down, and never below the 484 bytes every agent must handle.
    t.on_response(10, 4, 300, QUICK_RTT, TIMEOUT, False)
    assert (t.size_limit, t.size) == (484, 4)
    t.on_response(4, 2, 2000, QUICK_RTT, TIMEOUT, False)
    assert t.size_limit == 484


def test_trim_then_settles_just_under_the_limit():
    t = BulkTuner(size=50)
    t.on_response(50, 10, 30 + 100 * 10, QUICK_RTT, TIMEOUT, False)
    asked = [full(t, nbytes_per_varbind=100) for _ in range(10)]
    assert max(asked) <= 10 and asked[-1] == asked[-2] == asked[-3] >= 8


def test_near_the_size_limit_shrinks():
    t = BulkTuner(size=20, size_limit=1000)
    t.on_response(20, 20, 950, QUICK_RTT, TIMEOUT, False)  # above 90 % of the limit
    assert t.size == int(900 / (950 / 20))


def test_growth_is_bounded_by_the_size_limit():
    t = BulkTuner(size=20, size_limit=1000)
    t.on_response(20, 20, 400, QUICK_RTT, TIMEOUT, False)  # 20 bytes a varbind: 45 fit under 90 %
    assert t.size == 30
    for _ in range(5):
        full(t, nbytes_per_varbind=20)
    assert t.size <= 45


def test_floor_is_kept_by_every_signal():
    t = BulkTuner(size=3, floor=2)
    t.on_timeout()
    assert t.size == 2
    t.on_too_big(2)
    assert (t.size, t.ceiling) == (2, 2)
    t.on_response(2, 0, 50, QUICK_RTT, TIMEOUT, False)
    assert t.size == 2
    t.on_response(2, 1, 50_000, QUICK_RTT, TIMEOUT, False)
    assert t.size == 2


# -- properties --------------------------------------------------------------------


class TunerMachine(RuleBasedStateMachine):
    """Any sequence of signals, sensible or not, keeps floor <= size <= min(cap, ceiling)."""

    @initialize(
        size=st.integers(-5, 300),
        floor=st.integers(1, 5),
        extra_cap=st.integers(0, 300),
        ceiling=st.none() | st.integers(1, 300),
    )
    def start(self, size, floor, extra_cap, ceiling):
        if ceiling is not None:
            ceiling = max(ceiling, floor)
        self.tuner = BulkTuner(size=size, cap=floor + extra_cap, floor=floor, ceiling=ceiling)
        self.ceiling = ceiling
        self.size_limit = None

    def _record(self):
        t = self.tuner
        if self.ceiling is not None:
            assert t.ceiling is not None and t.ceiling <= self.ceiling, "the ceiling went up"
        if self.size_limit is not None:
            assert t.size_limit is not None and t.size_limit <= self.size_limit, "the size limit went up"
        self.ceiling, self.size_limit = t.ceiling, t.size_limit

    @rule(
        asked=st.none() | st.integers(0, 400),
        returned=st.integers(0, 400),
        nbytes=st.integers(20, 65535),  # a decoded response is never shorter than this
        rtt=st.floats(0, 10),
        timeout=st.floats(0.01, 10),
        ended=st.booleans(),
    )
    def response(self, asked, returned, nbytes, rtt, timeout, ended):
        t = self.tuner
        requested = t.size if asked is None else asked  # None: the tuner's own size, as the walk asks
        before = t.size
        t.on_response(requested, returned, nbytes, rtt, timeout, ended)
        assert t.size <= max(before + 1, int(before * 1.5)), "grew faster than by half"
        if returned < requested and not ended:
            assert t.size <= max(t.floor, returned) and t.size_limit is not None
        self._record()

    @rule(asked=st.none() | st.integers(0, 400))
    def too_big(self, asked):
        t = self.tuner
        requested = t.size if asked is None else asked
        t.on_too_big(requested)
        if requested > t.floor:
            assert t.ceiling < requested and t.size < requested, "a size that drew tooBig may be asked again"
        self._record()

    @rule()
    def timeout(self):
        before = self.tuner.size
        self.tuner.on_timeout()
        assert self.tuner.size == max(self.tuner.floor, before // 2)

    @precondition(lambda self: hasattr(self, "tuner"))
    @invariant()
    def size_in_bounds(self):
        t = self.tuner
        limit = t.cap if t.ceiling is None else min(t.cap, t.ceiling)
        assert isinstance(t.size, int) and t.floor <= t.size <= limit
        assert t.ceiling is None or t.ceiling >= t.floor


TunerMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
TestTunerStateMachine = TunerMachine.TestCase


@settings(max_examples=200, deadline=None)
@given(
    too_big_above=st.none() | st.integers(1, 150),
    trim_to=st.none() | st.integers(1, 150),
    per_varbind=st.integers(8, 200),
    start=st.integers(1, 150),
    cap=st.integers(1, 150),
)
def test_walks_against_a_limited_agent_settle(too_big_above, trim_to, per_varbind, start, cap):
    """The walk's loop against an agent with hidden limits: the tuner settles within them and
    then draws no more tooBig or trims; a size that drew tooBig is never asked again."""
    t = BulkTuner(size=start, cap=cap)
    refused: list[int] = []
    events = []
    for _ in range(300):
        asked = t.size
        assert all(asked < r for r in refused), f"asked {asked} after tooBig at {refused}"
        if too_big_above is not None and asked > too_big_above:
            if asked <= t.floor:
                break  # the client gives up here with SnmpErrorStatus
            refused.append(asked)
            events.append("tooBig")
            t.on_too_big(asked)
            continue
        returned = asked if trim_to is None else min(asked, trim_to)
        events.append("trim" if returned < asked else "ok")
        t.on_response(asked, returned, 30 + per_varbind * returned, QUICK_RTT, TIMEOUT, False)
    assert events[-50:] == ["ok"] * 50, "still drawing tooBig or trims after 250 requests"
    limit = min(x for x in (too_big_above, trim_to, cap) if x is not None)
    assert 1 <= t.size <= limit
    if too_big_above is not None and trim_to is None and too_big_above < cap:
        assert t.size == too_big_above, "settled below the agent's real limit"
