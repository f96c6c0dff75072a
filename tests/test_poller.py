"""The poller against the demo lab (real snmpsim agents) and its pure status rules."""

import time
from datetime import datetime, timezone

import attrs
import pytest
import trio
from faulty_agent import Faults, faulty_agent

import eyenet.collect.poller as poller_module
from eyenet.bus import Bus
from eyenet.collect.interfaces import InterfaceReading
from eyenet.collect.poller import DeviceState, Poller, assess, interface_key, interface_rates, status_changes
from eyenet.collect.profiles import load_profiles
from eyenet.collect.read import DeviceReading
from eyenet.config import Config, SnmpSettings, StoreSettings
from eyenet.demo.lab import start_lab
from eyenet.demo.run import demo_config
from eyenet.devices.model import DeviceConfig
from eyenet.events import DeviceMetrics, DeviceStatus, InterfaceMetrics
from eyenet.snmp.client import SnmpClient
from eyenet.snmp.values import Tag, VarBind
from eyenet.store.db import Store


def reading(*interfaces, problems=()):
    return DeviceReading(
        sys_descr="d", sys_object_id="1.3.6.1.4.1.9", sys_name="n", uptime_ticks=100, vendor="v", profile="p",
        profiles=("p",), cpu=1.0, memory=2.0, cpu_method=None, memory_method=None, interfaces=interfaces,
        problems=problems,
    )


def itf(index, name, admin="up", oper="up"):
    return InterfaceReading(
        if_index=index, if_name=name, if_descr=name, if_alias="", if_type=6, admin_status=admin, oper_status=oper,
        speed=10**9, in_octets=0, out_octets=0, counter_bits=64, in_errors=0, out_errors=0,
        counter_discontinuity=0,
    )


def test_only_interfaces_seen_up_then_down_degrade_a_device():
    state = DeviceState()
    never_up = itf(2, "Gi0/2", oper="down")
    assert assess(reading(itf(1, "Gi0/1"), never_up), state, 0.1, 5) == ("up", None)
    state.seen_up.add(interface_key(itf(1, "Gi0/1")))
    assert assess(reading(itf(1, "Gi0/1", oper="down"), never_up), state, 0.1, 5) == (
        "degraded", "interfaces down: Gi0/1",
    )
    # shut down by the operator: not a fault
    assert assess(reading(itf(1, "Gi0/1", admin="down", oper="down")), state, 0.1, 5) == ("up", None)


def test_partial_and_slow_answers_degrade():
    state = DeviceState()
    assert assess(reading(problems=("ifXTable: timeout",)), state, 0.1, 5) == ("degraded", "partial: ifXTable: timeout")
    assert assess(reading(), state, 6.0, 5) == ("degraded", "slow: answered in 6.0 s")


def test_interface_rates_per_second_from_two_readings():
    state = DeviceState()
    first = reading(itf(1, "Gi0/1"), itf(2, "Gi0/2")._replace(in_octets=-5))  # an agent's INTEGER, not a counter
    assert [(m.bps_in, m.errors_in) for m in interface_rates(first, state, 1000.0)] == [(None, None), (None, None)]
    later = itf(1, "Gi0/1")._replace(in_octets=1_250, out_octets=2_500, in_errors=10)
    second = attrs.evolve(reading(later, itf(2, "Gi0/2")._replace(in_octets=7)), uptime_ticks=1_100)
    a, b = interface_rates(second, state, 1010.0)
    assert (a.bps_in, a.bps_out, a.errors_in, a.errors_out) == (1_000, 2_000, 1, 0)
    assert (b.bps_in, b.bps_out) == (None, 0)
    assert state.seen_up == {interface_key(later), interface_key(itf(2, "Gi0/2"))}


def test_ignored_interfaces_are_listed_flagged_and_never_watched():
    """notPresent, nameless and ignore_interfaces' names: flagged, left out of the bandwidth
    totals and of the interfaces whose going down degrades the device."""
    import re

    from eyenet.collect.interfaces import DEFAULT_IGNORED_INTERFACES
    from eyenet.collect.poller import bandwidth

    patterns = [re.compile(p) for p in DEFAULT_IGNORED_INTERFACES]
    state = DeviceState()
    rows = (itf(1, "Gi0/1"), itf(2, "lsi"), itf(3, "Gi0/3", oper="notPresent"), itf(4, ""), itf(5, "Virtual-Template0"))
    first = interface_rates(reading(*rows), state, 1000.0, patterns)
    assert [m.ignored for m in first] == [False, True, True, True, True]
    assert state.seen_up == {interface_key(rows[0])}
    later = [r._replace(in_octets=1_250) for r in rows]
    second = interface_rates(attrs.evolve(reading(*later), uptime_ticks=1_100), state, 1010.0, patterns)
    assert all(m.bps_in == 1_000 for m in second)  # every row's rates are there, for the port table
    assert bandwidth(reading(*later), second)[0] == 1_000  # only Gi0/1 counts
    down = [r._replace(oper_status="down") for r in later]
    assert assess(reading(*down), state, 0.1, 5) == ("degraded", "interfaces down: Gi0/1")
    # Without the default patterns nor notPresent, only the nameless row stays ignored.
    flags = [m.ignored for m in interface_rates(reading(*rows), DeviceState(), 1000.0, [], not_present=False)]
    assert flags == [False, False, False, True, False]


def test_only_status_changes_are_stored():
    def polled(*statuses):
        interfaces = [
            InterfaceMetrics(if_index=n, name=f"p{n}", status=s, admin_status="up", bps_in=None, bps_out=None, speed=None)
            for n, s in enumerate(statuses, 1)
        ]
        return DeviceMetrics(device_id="sw", timestamp=datetime.now(timezone.utc), interfaces=interfaces)

    stored: dict[int, int] = {}
    assert status_changes("sw", 10, polled("up", "down", "unknown"), stored) == [("sw", 1, 10, 1), ("sw", 2, 10, 2), ("sw", 3, 10, 4)]
    assert status_changes("sw", 20, polled("up", "down", "unknown"), stored) == []
    assert status_changes("sw", 30, polled("down", "lowerLayerDown"), stored) == [("sw", 1, 30, 2), ("sw", 2, 30, 7)]
    assert stored == {1: 2, 2: 7}  # a port gone is forgotten


async def test_polls_of_the_lab_give_status_metrics_and_history(tmp_path):
    bus = Bus()
    async with start_lab(tmp_path / "lab", start_time=time.time() - 200, distinct_hosts=True) as lab:  # past spike, flap
        config = demo_config(lab, tmp_path)
        poller_events = bus.subscribe(maxlen=10_000)
        with poller_events:
            async with Store.open(tmp_path / "eyenet.db") as store, SnmpClient.open() as client:
                poller = Poller(client, bus, store.add_samples, load_profiles(), config, store.add_status_changes)
                for round_ in range(2):
                    # One device after another, as the scheduler's spread does: all at once would queue
                    # on the lab's single snmpsim process and read as "slow".
                    for device in config.devices:
                        state = poller.states.setdefault(device.id, DeviceState())
                        await poller.poll(device, poller.target(device), state)
                    if round_ == 0:
                        await trio.sleep(1.5)  # let the counters move between the two polls
                await store.flush()
                history = await store.history("core-rtr-01", "cpu", 0, 2**31)
                stored = {
                    (device.id, index): await store.status_changes(device.id, index, 0, 2**31)
                    for device in config.devices for index in poller.states[device.id].stored_status
                }
            events = []
            while len(poller_events):
                events.append(poller_events.receive_nowait())
    statuses = [e for e in events if isinstance(e, DeviceStatus)]

    metrics = [e for e in events if isinstance(e, DeviceMetrics)]
    ids = {d.id for d in config.devices}
    # one status per device (published on change only), all up; metrics on every poll
    assert sorted(e.device_id for e in statuses) == sorted(ids)
    assert {e.status for e in statuses} == {"up"}
    assert len(metrics) == 2 * len(ids)
    second = {m.device_id: m for m in metrics[len(ids):]}
    for device_id, m in second.items():
        assert m.cpu is not None and 0 <= m.cpu <= 100, device_id
        assert m.memory is not None and 0 < m.memory < 100, device_id
        assert m.bandwidth_in and m.bandwidth_in > 0 and m.bandwidth_out > 0, device_id
        wire = m.wire(1)
        assert set(wire["data"]) == {"deviceId", "metrics", "timestamp"}
    assert len(history) == 2
    # Each interface's status, stored once: it did not change between the two polls.
    assert len(stored) == sum(len(m.interfaces) for m in metrics[len(ids):]) > len(ids)
    assert all(len(rows) == 1 for rows in stored.values()), stored


@pytest.mark.slow
async def test_an_interface_going_down_and_up_is_stored_as_its_changes(tmp_path):
    """The lab's uplink of acc-sw-02 is down 60-90 s after its start: polled from 80 s to 92 s."""
    async with start_lab(tmp_path / "lab", start_time=time.time() - 80, distinct_hosts=True) as lab:
        config = demo_config(lab, tmp_path)
        device = next(d for d in config.devices if d.id == "acc-sw-02")
        async with Store.open(tmp_path / "eyenet.db") as store, SnmpClient.open() as client:
            poller = Poller(client, Bus(), None, load_profiles(), config, store.add_status_changes)
            state = DeviceState()
            polled_down = False
            with trio.fail_after(30):
                while lab.elapsed() < 92:
                    result = await poller.poll(device, poller.target(device), state)
                    uplink = next(i for i in result.metrics.interfaces if i.name == "Te1/1/1")
                    polled_down |= lab.elapsed() < 89 and uplink.status == "down"
                    await trio.sleep(1)
            assert polled_down, "the lab took too long to start: its uplink was never polled down"
            await store.flush()
            rows = await store.status_changes("acc-sw-02", uplink.if_index, 0, 2**31)
            others = [await store.status_changes("acc-sw-02", i.if_index, 0, 2**31) for i in result.metrics.interfaces]
    assert [status for _, status in rows] == [2, 1], rows  # first seen down, then up: one row each
    assert sorted(len(r) for r in others)[:-1] == [1] * (len(others) - 1)  # the others: stored once


async def test_an_unanswering_device_is_down_with_the_reason(tmp_path):
    bus = Bus()
    config = Config(path="t", store=StoreSettings(str(tmp_path / "db")), devices=(DeviceConfig("ghost", "127.0.0.1", port=9),))
    config = config.__class__(path="t", snmp=config.snmp.__class__(timeout=0.2, retries=0), devices=config.devices)
    with bus.subscribe() as events:
        async with SnmpClient.open() as client:
            poller = Poller(client, bus, None, load_profiles(), config)
            device = config.devices[0]
            result = await poller.poll(device, poller.target(device), DeviceState())
        event = events.receive_nowait()
    assert (result.status, result.reason) == ("down", "timeout")
    assert isinstance(event, DeviceStatus) and event.wire(7)["data"]["status"] == "down"


def test_devices_poll_in_slots_spread_over_the_interval():
    from eyenet.collect.poller import next_slot, poll_phase

    phases = sorted(poll_phase(f"dev-{i}", 60.0) for i in range(1000))
    assert 0 <= phases[0] and phases[-1] < 60
    # Evenly spread: every 6-second tenth of the minute holds about a tenth of the devices.
    tenths = [sum(1 for p in phases if k * 6 <= p < (k + 1) * 6) for k in range(10)]
    assert min(tenths) > 60 and max(tenths) < 140, tenths
    assert poll_phase("dev-1", 60.0) == poll_phase("dev-1", 60.0)

    # Slots of phase 7 on a 60 s interval: ..., 1027, 1087, 1147, ...
    assert next_slot(1027.0, 1027.2, 60, 7) == 1087  # on time: one interval later
    assert next_slot(1000.0, 1000.5, 60, 7) == 1087  # after a first poll anywhere: the first slot half an interval on
    assert next_slot(1050.0, 1050.5, 60, 7) == 1087
    assert next_slot(1047.0, 1048.0, 60, 7) == 1087  # started 20 s late (waited for a free poll slot): keeps its phase
    assert next_slot(1027.0, 1157.0, 60, 7) == 1207  # overran two slots: skips them, no burst of catch-up polls


async def test_stop_lets_polls_in_flight_finish_and_cancels_those_that_do_not_in_time(tmp_path):
    system = (1, 3, 6, 1, 2, 1, 1)
    table = [
        VarBind(system + (1, 0), Tag.OCTET_STRING, b"Test agent"),
        VarBind(system + (2, 0), Tag.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 99999)),
        VarBind(system + (3, 0), Tag.TIMETICKS, 100), VarBind(system + (5, 0), Tag.OCTET_STRING, b"test"),
    ]
    bus = Bus()
    # Each of the slow agent's answers takes 0.3 s (a poll, several); the stuck one never answers in time.
    async with faulty_agent(table, Faults(delay=0.3)) as slow, faulty_agent(table, Faults(delay=60.0)) as stuck:
        devices = (
            DeviceConfig("slow", "127.0.0.1", port=slow.port, community="public", poll_interval=1.0),
            DeviceConfig("stuck", "127.0.0.1", port=stuck.port, community="public", poll_interval=1.0),
        )
        config = Config(path="t", snmp=SnmpSettings(timeout=30.0, retries=0), devices=devices)
        with bus.subscribe(types=(DeviceMetrics,)) as events:
            async with SnmpClient.open() as client, trio.open_nursery() as nursery:
                poller = Poller(client, bus, None, load_profiles(), config)
                await nursery.start(poller.run, list(devices))
                with trio.fail_after(10):
                    while poller._in_flight < 2 or slow.requests < 1:
                        await trio.sleep(0.01)
                while len(events):
                    events.receive_nowait()  # what polls before the stop published
                finished, cancelled = await poller.stop(grace=3.0)
            # poller.run returned by itself: the nursery closed
            # The slow poll was in flight at the stop and went on to its end (it may have sent its last
            # request before the stop: counting its requests would race), and published it.
            assert (finished, cancelled) == (1, 1)
            assert [events.receive_nowait().device_id for _ in range(len(events))] == ["slow"]


async def test_poll_now_brings_a_poll_forward_at_most_once_a_second(monkeypatch):
    # The first slot at once: a slot left within the spread would come as a third poll.
    monkeypatch.setattr(poller_module, "FIRST_POLL_SPREAD", 0.0)
    # A device polled hourly that does not answer (port 9): each poll ends in 0.2 s.
    device = DeviceConfig("ghost", "127.0.0.1", port=9, poll_interval=3600)
    config = Config(path="t", snmp=SnmpSettings(timeout=0.2, retries=0), devices=(device,))
    async with SnmpClient.open() as client, trio.open_nursery() as nursery:
        poller = Poller(client, Bus(), None, load_profiles(), config)
        await nursery.start(poller.run, [device])
        assert not poller.poll_now("unknown")
        with trio.fail_after(5):
            while poller.polls == 0:  # the first poll: wait for it
                assert poller.poll_now("ghost")
                await trio.sleep(0.05)
        first = trio.current_time()
        with trio.fail_after(5):
            for _ in range(5):  # a burst of traps
                poller.poll_now("ghost")
            while poller.polls < 2:
                await trio.sleep(0.05)
        assert trio.current_time() - first >= 0.9  # not before a second after the last one
        await trio.sleep(1.5)
        assert poller.polls == 2  # the burst made one poll; the hourly slot is still ahead
        nursery.cancel_scope.cancel()
