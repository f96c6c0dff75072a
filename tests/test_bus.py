"""The in-process bus: bounded per-subscriber buffers, overflow accounting, filters.

Assertions count events; none measures time.
"""

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from eyenet.bus import Bus, Lagged, Overflow


@attrs.frozen
class Metric:
    n: int


@attrs.frozen
class Alert:
    n: int


def drain(sub):
    out = []
    while True:
        try:
            out.append(sub.receive_nowait())
        except trio.WouldBlock:
            return out


async def test_publish_and_receive_in_order():
    bus = Bus()
    async with bus.subscribe() as sub:
        for i in range(5):
            assert bus.publish(Metric(i)) == 1
        assert [await sub.receive() for _ in range(5)] == [Metric(i) for i in range(5)]
        assert sub.delivered == 5 and sub.dropped == 0


def test_publish_without_subscribers_and_before_entering():
    bus = Bus()
    sub = bus.subscribe()
    assert bus.publish(Metric(0)) == 0  # not entered yet: not subscribed
    with sub:
        assert bus.publish(Metric(1)) == 1
        assert drain(sub) == [Metric(1)]
    assert bus.publish(Metric(2)) == 0 and bus.subscribers == ()


async def test_slow_subscriber_does_not_delay_fast_one_or_publisher():
    bus = Bus()
    n, maxlen = 1_000, 16
    got_fast, got_slow = [], []
    publisher_done = trio.Event()
    slow_may_go_on = trio.Event()

    async with bus.subscribe(maxlen=maxlen, name="fast") as fast, \
            bus.subscribe(maxlen=maxlen, name="slow") as slow:

        async def fast_reader(task_status=trio.TASK_STATUS_IGNORED):
            task_status.started()
            async for item in fast:
                got_fast.append(item)
                if len(got_fast) == n:
                    return

        async def slow_reader(task_status=trio.TASK_STATUS_IGNORED):
            task_status.started()
            got_slow.append(await slow.receive())
            await slow_may_go_on.wait()  # stuck in its work, like a subscriber writing to a full socket

        async def publisher():
            for i in range(n):
                bus.publish(Metric(i))
                await trio.sleep(0)  # a checkpoint, as a real publisher has between polls
            publisher_done.set()

        async with trio.open_nursery() as nursery:
            await nursery.start(fast_reader)
            await nursery.start(slow_reader)
            nursery.start_soon(publisher)
            await publisher_done.wait()
            # The publisher got through every event while the slow reader sat on its first.
            assert got_slow == [Metric(0)] and slow.delivered == 1
            slow_may_go_on.set()

        assert got_fast == [Metric(i) for i in range(n)]
        assert fast.dropped == 0 and fast.delivered == n
        # The slow one holds the newest maxlen events after one marker for the rest.
        assert drain(slow) == [Lagged(n - 1 - maxlen)] + [Metric(i) for i in range(n - maxlen, n)]
        assert slow.dropped == n - 1 - maxlen


def test_publish_never_awaits():
    bus = Bus()
    with bus.subscribe(maxlen=1):
        # Synchronous, outside any Trio run: it cannot block.
        for i in range(10_000):
            bus.publish(Metric(i))
    assert bus.published == 10_000


def test_drop_oldest_accounting():
    bus = Bus()
    with bus.subscribe(maxlen=3) as sub:
        for i in range(5):
            bus.publish(Metric(i))
        assert len(sub) == 3 and sub.dropped == 2
        assert sub.receive_nowait() == Lagged(2)
        assert sub.receive_nowait() == Metric(2)
        for i in range(5, 8):  # buffer [3, 4] + 5 fits, 6 and 7 push out 3 and 4
            bus.publish(Metric(i))
        assert drain(sub) == [Lagged(2), Metric(5), Metric(6), Metric(7)]
        assert sub.dropped == 4 and sub.delivered == 4


def test_drop_newest_accounting():
    bus = Bus()
    with bus.subscribe(maxlen=3, overflow=Overflow.DROP_NEWEST) as sub:
        for i in range(5):
            bus.publish(Metric(i))
        assert sub.receive_nowait() == Metric(0)
        bus.publish(Metric(5))  # room for one again
        bus.publish(Metric(6))  # dropped
        assert drain(sub) == [Metric(1), Metric(2), Lagged(2), Metric(5), Lagged(1)]
        assert sub.dropped == 3


def test_lag_markers_off():
    bus = Bus()
    with bus.subscribe(maxlen=2, report_lag=False) as sub:
        for i in range(10):
            bus.publish(Metric(i))
        assert drain(sub) == [Metric(8), Metric(9)]
        assert sub.dropped == 8


@given(
    maxlen=st.integers(min_value=1, max_value=8),
    overflow=st.sampled_from(list(Overflow)),
    ops=st.lists(st.one_of(st.just("r"), st.integers(min_value=1, max_value=20)), max_size=40),
)
def test_accounting_invariant(maxlen, overflow, ops):
    """Every published event is delivered or counted as dropped; markers add up to
    the drops; the buffer never exceeds maxlen; order is kept."""
    bus = Bus()
    published, seen, missed = 0, [], 0
    with bus.subscribe(maxlen=maxlen, overflow=overflow) as sub:
        for op in ops:
            if op == "r":
                items = drain(sub)
            else:
                for _ in range(op):
                    bus.publish(Metric(published))
                    published += 1
                    assert len(sub) <= maxlen
                continue
            for item in items:
                if isinstance(item, Lagged):
                    missed += item.missed
                else:
                    seen.append(item.n)
        for item in drain(sub):
            if isinstance(item, Lagged):
                missed += item.missed
            else:
                seen.append(item.n)
    assert seen == sorted(seen)
    assert len(seen) + missed == published
    assert missed == sub.dropped and len(seen) == sub.delivered


def test_filter_by_type_and_callable():
    bus = Bus()
    with bus.subscribe(types=Alert) as alerts, \
            bus.subscribe(filter=lambda e: e.n % 2 == 0) as even, \
            bus.subscribe(types=(Metric,), filter=lambda e: e.n > 2) as big_metrics:
        for i in range(5):
            bus.publish(Metric(i))
            bus.publish(Alert(i))
        assert drain(alerts) == [Alert(i) for i in range(5)]
        assert drain(even) == [x(i) for i in (0, 2, 4) for x in (Metric, Alert)]
        assert drain(big_metrics) == [Metric(3), Metric(4)]


def test_filtered_out_events_do_not_count_as_drops():
    bus = Bus()
    with bus.subscribe(maxlen=1, types=Alert) as sub:
        for i in range(100):
            bus.publish(Metric(i))
        bus.publish(Alert(0))
        assert drain(sub) == [Alert(0)] and sub.dropped == 0


def test_failing_filter_does_not_break_publisher_or_others(caplog):
    bus = Bus()

    def bad(event):
        raise RuntimeError("bug in a filter")

    with bus.subscribe(filter=bad) as broken, bus.subscribe() as fine:
        assert bus.publish(Metric(1)) == 1
        assert bus.publish(Metric(2)) == 1
        assert drain(fine) == [Metric(1), Metric(2)] and drain(broken) == []
    assert caplog.text.count("filter failed") == 1


async def test_unsubscribe_on_exit_even_on_error():
    bus = Bus()
    with pytest.raises(KeyError):
        async with bus.subscribe() as sub:
            assert bus.subscribers == (sub,)
            raise KeyError("boom")
    assert bus.subscribers == ()
    assert bus.publish(Metric(0)) == 0
    with pytest.raises(trio.ClosedResourceError):
        sub.receive_nowait()


async def test_subscription_entered_once():
    bus = Bus()
    sub = bus.subscribe()
    async with sub:
        with pytest.raises(RuntimeError):
            async with sub:
                pass


async def test_many_subscribers():
    bus = Bus()
    k, n = 200, 50
    totals = [0] * k

    async def reader(i, sub, task_status=trio.TASK_STATUS_IGNORED):
        async with sub:
            task_status.started()
            async for item in sub:
                assert item == Metric(totals[i])
                totals[i] += 1

    async with trio.open_nursery() as nursery:
        for i in range(k):
            await nursery.start(reader, i, bus.subscribe(maxlen=n))
        assert len(bus.subscribers) == k
        for j in range(n):
            assert bus.publish(Metric(j)) == k
        bus.close()
    assert totals == [n] * k
    assert bus.subscribers == ()


async def test_waiting_receiver_is_woken_and_close_ends_iteration():
    bus = Bus()
    got = []
    async with bus.subscribe() as sub:
        async def reader():
            async for item in sub:
                got.append(item)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            bus.publish(Metric(1))
            await trio.testing.wait_all_tasks_blocked()
            assert got == [Metric(1)]
            bus.publish(Metric(2))
            bus.close()  # the reader drains Metric(2), then its loop ends
    assert got == [Metric(1), Metric(2)]
    with pytest.raises(trio.ClosedResourceError):
        bus.publish(Metric(3))


async def test_receive_is_cancellable_and_loses_nothing():
    bus = Bus()
    async with bus.subscribe() as sub:
        with trio.move_on_after(0) as scope:  # cancelled at its first checkpoint
            await sub.receive()
        assert scope.cancelled_caught
        bus.publish(Metric(7))
        assert await sub.receive() == Metric(7)


async def test_closing_subscription_wakes_its_receiver():
    bus = Bus()
    sub = bus.subscribe()
    with sub:
        async with trio.open_nursery() as nursery:
            async def reader():
                with pytest.raises(trio.ClosedResourceError):
                    await sub.receive()

            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            sub.close()


def test_bad_maxlen():
    with pytest.raises(ValueError):
        Bus().subscribe(maxlen=0)


async def test_receive_batch_takes_what_is_buffered_up_to_the_limit():
    bus = Bus()
    with bus.subscribe(maxlen=3) as sub:
        for i in range(5):  # two dropped: a marker, then the three newest
            bus.publish(Metric(i))
        assert await sub.receive_batch(limit=2) == [Lagged(2), Metric(2)]
        assert await sub.receive_batch() == [Metric(3), Metric(4)]
        async with trio.open_nursery() as nursery:  # nothing buffered: waits for the first
            nursery.start_soon(lambda: sub.receive_batch())
            await trio.testing.wait_all_tasks_blocked()
            bus.publish(Metric(5))
        assert drain(sub) == [] and sub.delivered == 4
        bus.close()
        with pytest.raises(trio.EndOfChannel):
            await sub.receive_batch()


async def test_batch_subscriber_keeps_up_with_a_busy_loop():
    """200 tasks always ready, a publisher of 20 events per turn: one event per turn of the
    scheduler would fall 19 behind each turn and overflow; a batch per turn loses nothing."""
    bus = Bus()
    got = []
    with bus.subscribe(maxlen=1_000) as sub:
        async with trio.open_nursery() as nursery:
            stop = trio.Event()

            async def busy():
                while not stop.is_set():
                    await trio.lowlevel.checkpoint()

            async def consume():
                while True:
                    try:
                        got.extend(await sub.receive_batch())
                    except trio.EndOfChannel:
                        return

            for _ in range(200):
                nursery.start_soon(busy)
            nursery.start_soon(consume)
            for turn in range(500):
                for i in range(20):
                    bus.publish(Metric(turn * 20 + i))
                await trio.lowlevel.checkpoint()
            bus.close()
            stop.set()
    assert sub.dropped == 0 and got == [Metric(i) for i in range(10_000)]
