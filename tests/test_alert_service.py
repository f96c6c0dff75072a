"""The alert service with a real store and bus: what is published, what is kept across restarts."""

from datetime import datetime, timedelta, timezone

import attrs
import pytest
import trio

from eyenet.alerts.engine import Window
from eyenet.alerts.rules import DEFAULT_RULES, Rule
from eyenet.alerts.service import AlertService, RuleFromConfig
from eyenet.bus import Bus
from eyenet.events import AlertNew, AlertUpdate, DeviceMetrics, DeviceStatus
from eyenet.store.db import Store

CPU = Rule("cpu-high", "device.cpu", ">", "warning", threshold=90.0, clear=80.0)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def cpu(device: str, value: float, clock: Clock) -> DeviceMetrics:
    return DeviceMetrics(device_id=device, timestamp=clock.now, cpu=value)


async def service(store, bus, clock, *, rules=(CPU,), notified=None, tags=None) -> AlertService:
    svc = AlertService(
        store, bus, lambda d: (tags or {}).get(d, ()), clock=clock,
        notify=None if notified is None else (lambda kind, severity, payload: notified.append((kind, severity, payload))),
    )
    await svc.load(rules)
    return svc


async def test_raise_acknowledge_resolve_publish_the_seed_events_and_notify(tmp_path):
    clock, bus, notified = Clock(), Bus(), []
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock, notified=notified)
        with bus.subscribe(types=(AlertNew, AlertUpdate)) as seen:
            await svc.observe(cpu("r1", 95, clock))
            new = seen.receive_nowait()
            assert isinstance(new, AlertNew) and (new.device_id, new.message, new.value, new.threshold, new.rule_id) == (
                "r1", "CPU usage exceeded threshold", 95.0, 90.0, "cpu-high")
            clock.advance(30)
            acked = await svc.acknowledge(new.alert_id, "u-alice")
            update = seen.receive_nowait()
            assert update.data() == {
                "alertId": new.alert_id, "status": "acknowledged", "updatedBy": "u-alice",
                "timestamp": update.data()["timestamp"],
            }
            assert acked.status == "acknowledged"
            clock.advance(30)
            await svc.observe(cpu("r1", 50, clock))
            resolved = seen.receive_nowait()
            assert (resolved.status, resolved.updated_by) == ("resolved", "system")
        alert, history = await store.alert(new.alert_id)
        assert alert.status == "resolved"
        assert [(h.change, h.status, h.by) for h in history] == [
            ("new", "open", None), ("acknowledged", "acknowledged", "u-alice"), ("resolved", "resolved", "system"),
        ]
    assert [(k, s) for k, s, _ in notified] == [("alert:new", "warning"), ("alert:update", "warning"), ("alert:update", "warning")]
    payload = notified[0][2]
    assert payload["type"] == "alert:new" and payload["data"]["alertId"] == new.alert_id
    assert payload["alert"]["status"] == "open" and payload["alert"]["ruleId"] == "cpu-high"


async def test_a_restart_keeps_open_and_acknowledged_alerts_and_does_not_raise_them_again(tmp_path):
    clock, bus = Clock(), Bus()
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock)
        await svc.observe(cpu("r1", 95, clock))
        await svc.observe(cpu("r2", 97, clock))
        [a2, a1] = await store.alerts(active_only=True)
        await svc.acknowledge(a1.id, "u-alice")
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock)
        assert {a.id: a.status for a in svc.engine.alerts.values()} == {a1.id: "acknowledged", a2.id: "open"}
        with bus.subscribe(types=(AlertNew, AlertUpdate)) as seen:
            clock.advance(60)
            await svc.observe(cpu("r1", 99, clock))
            await svc.observe(cpu("r2", 99, clock))
            assert len(seen) == 0
        assert len(await store.alerts()) == 2


async def test_the_run_loop_reads_the_bus_and_ticks_the_clock(tmp_path):
    clock, bus = Clock(), Bus()
    down = Rule("device-down", "device.status", "==", "critical", threshold="down", for_seconds=30)
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock, rules=(down,))
        with bus.subscribe(types=(AlertNew,)) as seen:
            async with trio.open_nursery() as nursery:
                await nursery.start(svc.run)
                bus.publish(DeviceStatus(device_id="r1", status="down", timestamp=clock.now, reason="timeout"))
                await trio.sleep(0.1)
                assert len(seen) == 0
                clock.advance(31)  # no new event: the tick raises it
                with trio.fail_after(5):
                    new = await seen.receive()
                assert new.message == "Device is down" and new.severity == "critical"
                nursery.cancel_scope.cancel()


async def test_maintenance_windows_record_without_pushing_and_push_when_over(tmp_path):
    clock, bus = Clock(), Bus()
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock, tags={"r1": ("lab",)})
        window = Window("mw-1", clock.now, clock.now + timedelta(minutes=10), tags=("lab",), created_by="u-op")
        await svc.put_window(window)
        with bus.subscribe(types=(AlertNew, AlertUpdate)) as seen:
            await svc.observe(cpu("r1", 95, clock))
            assert len(seen) == 0
            [silenced] = await store.alerts()
            assert silenced.status == "open" and not silenced.notified
            clock.advance(601)
            await svc._apply(svc.engine.tick(clock()))
            shown = seen.receive_nowait()
            assert isinstance(shown, AlertNew) and shown.alert_id == silenced.id
        assert (await store.alert(silenced.id))[0].notified
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock)
        assert [w.id for w in svc.windows()] == ["mw-1"]
        assert await svc.delete_window("mw-1") and not await svc.delete_window("mw-1")


async def test_rules_from_defaults_config_and_api(tmp_path):
    clock, bus = Clock(), Bus()
    faster = attrs.evolve(next(r for r in DEFAULT_RULES if r.id == "cpu-high"), for_seconds=20.0)
    mine = Rule("uplink-errors", "interface.errors", ">", "warning", threshold=5.0)
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock, rules=(faster,))
        sources = {r.id: (s, r) for r, s in svc.rules()}
        assert set(sources) == {r.id for r in DEFAULT_RULES}
        assert sources["cpu-high"] == ("config", faster)
        with pytest.raises(RuleFromConfig):
            await svc.put_rule(attrs.evolve(faster, threshold=95.0))
        assert await svc.put_rule(mine)
        assert await svc.delete_rule("memory-high")
        assert not await svc.delete_rule("memory-high")
    async with Store.open(tmp_path / "db") as store:
        # The configured override is gone from the file: the shipped rule comes back; what the API
        # added stays, and a shipped rule deleted through the API stays deleted.
        svc = await service(store, bus, clock, rules=())
        sources = {r.id: (s, r) for r, s in svc.rules()}
        assert sources["cpu-high"][0] == "default" and sources["cpu-high"][1].for_seconds == 120
        assert sources["uplink-errors"] == ("api", mine)
        assert "memory-high" not in sources


async def test_deleting_a_rule_resolves_its_alerts(tmp_path):
    clock, bus = Clock(), Bus()
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock, rules=())
        await svc.put_rule(attrs.evolve(CPU, id="hot"))
        await svc.observe(cpu("r1", 95, clock))
        with bus.subscribe(types=(AlertUpdate,)) as seen:
            assert await svc.delete_rule("hot")
            gone = seen.receive_nowait()
            assert (gone.status, gone.updated_by) == ("resolved", "system")


async def test_alerts_of_devices_no_longer_monitored_resolve_at_start(tmp_path):
    clock, bus = Clock(), Bus()
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock)
        await svc.observe(cpu("r1", 95, clock))
        await svc.observe(cpu("gone", 95, clock))
    async with Store.open(tmp_path / "db") as store:
        svc = AlertService(store, bus, lambda d: (), clock=clock)
        await svc.load((CPU,), devices=["r1"])
        assert [a.device_id for a in svc.engine.alerts.values()] == ["r1"]
        [gone] = await store.alerts(device_id="gone")
        assert (gone.status, gone.updated_by) == ("resolved", "system")


async def test_a_failure_behind_another_raises_only_the_root_cause(tmp_path):
    from eyenet.topology.graph import Graph, Link, Node

    graph = Graph(
        {d: Node(d, t, d, True) for d, t in (("core", "router"), ("dist", "switch"), ("acc", "switch"))},
        frozenset({Link("core", "dist", "Gi0/1", "Et1", "lldp"), Link("acc", "dist", "Te1/1/1", "Et2", "lldp")}),
    )
    clock, bus = Clock(), Bus()
    down = Rule("device-down", "device.status", "==", "critical", threshold="down", for_seconds=60)
    async with Store.open(tmp_path / "db") as store:
        svc = AlertService(store, bus, lambda d: (), clock=clock, topology=lambda: graph, roots=lambda: ("core",))
        await svc.load((down,))
        with bus.subscribe(types=(AlertNew, AlertUpdate)) as seen:
            await svc.observe(DeviceStatus(device_id="acc", status="down", timestamp=clock.now))
            clock.advance(20)
            await svc.observe(DeviceStatus(device_id="dist", status="down", timestamp=clock.now))
            for _ in range(70):  # the service's one-second ticks
                clock.advance(1)
                await svc._apply(svc.engine.tick(clock()))
            [new] = [seen.receive_nowait() for _ in range(len(seen))]
            assert (new.device_id, new.message) == ("dist", "Device is down")
            [acc] = await store.alerts(device_id="acc")
            assert acc.suppressed_by == new.alert_id and not acc.notified
            # acc answers again while dist is still down: its own alerts are its own (the map is
            # wrong, or a way round it exists), never suppressed.
            await svc.observe(DeviceStatus(device_id="acc", status="up", timestamp=clock.now))
            assert svc._root_cause("acc") is None


async def test_a_reload_applies_the_files_rules_and_resolves_alerts_of_those_gone(tmp_path):
    clock, bus = Clock(), Bus()
    hot = attrs.evolve(CPU, id="hot")
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock, rules=(hot,))
        await svc.put_rule(attrs.evolve(CPU, id="mine", threshold=99.0))
        await svc.observe(cpu("r1", 95, clock))
        faster = attrs.evolve(next(r for r in DEFAULT_RULES if r.id == "cpu-high"), for_seconds=20.0)
        with bus.subscribe(types=(AlertUpdate,)) as seen:
            changes = await svc.reload_rules([faster, attrs.evolve(CPU, id="cold", op="<", threshold=5.0)])
            gone = seen.receive_nowait()
        assert (gone.status, gone.updated_by) == ("resolved", "system")  # hot's alert: its rule is gone
        assert changes.added == ("cold",) and changes.removed == ("hot",)
        assert changes.changed == ("cpu-high (for_seconds)",)
        sources = {r.id: s for r, s in svc.rules()}
        assert (sources["cold"], sources["cpu-high"], sources["mine"]) == ("config", "config", "api")
        assert "hot" not in sources
        # Out of the file again: the shipped rule comes back.
        changes = await svc.reload_rules([])
        assert changes.removed == ("cold",) and changes.changed == ("cpu-high (for_seconds)",)
        assert {r.id: s for r, s in svc.rules()}["cpu-high"] == "default"


async def test_falling_behind_the_poller_is_one_line_a_minute_with_every_skip_counted(tmp_path, caplog, monkeypatch):
    """A machine too busy to evaluate drops observations (the bus says how many): the log
    gets one line a minute with all of them, not one a drop."""
    from eyenet.bus import Lagged
    from eyenet.lograte import LogThrottle

    now = [1000.0]
    monkeypatch.setattr("eyenet.alerts.service.time.monotonic", lambda: now[0])
    clock, bus = Clock(), Bus()
    async with Store.open(tmp_path / "db") as store:
        svc = await service(store, bus, clock)
        for missed in (5, 7, 11):
            await svc.observe(Lagged(missed))
        now[0] += LogThrottle().interval
        await svc.observe(Lagged(2))
    lines = [r.getMessage() for r in caplog.records if "fell behind" in r.getMessage()]
    assert lines == ["alert evaluation fell behind the poller: 5 observations skipped",
                     "alert evaluation fell behind the poller: 20 observations skipped"]
