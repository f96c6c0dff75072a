"""Health: the pure core (checks, the whole), and components that report it (store, bus)."""

import sqlite3

import pytest
import trio

from eyenet.bus import Bus
from eyenet.collect.history import Sample
from eyenet.devices.model import DeviceConfig, StoredDevice
from eyenet.health import Checks, Health, Status, overall
from eyenet.store.db import Store
from eyenet.store.errors import StoreError


def test_the_worst_finding_sets_the_status_and_every_reason_is_kept():
    checks = Checks({"queued": 3})
    assert checks.health() == Health(Status.OK, (), {"queued": 3})
    checks.degraded("slow")
    checks.down("stopped")
    checks.degraded("late")
    health = checks.health()
    assert health.status is Status.DOWN and health.reasons == ("slow", "stopped", "late")
    assert health.to_json() == {"status": "down", "reasons": ["slow", "stopped", "late"], "queued": 3}


def test_the_whole_is_its_worst_component_with_reasons_named():
    whole = overall({"a": Health(Status.OK), "b": Health(Status.DEGRADED, ("x",)), "c": Health(Status.OK, ())})
    assert whole == Health(Status.DEGRADED, ("b: x",))
    assert overall({}).status is Status.OK


async def test_store_writes_that_fail_make_it_down_refuse_calls_and_recover(tmp_path, monkeypatch, autojump_clock):
    async with Store.open(tmp_path / "eyenet.db") as store:
        assert store.health().status is Status.OK
        real_apply = store._apply

        def failing(batch):
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(store, "_apply", failing)  # a unit test's stand-in for a failing disk
        store.add_samples([Sample("r1", "cpu", 1, 1.0)])
        with pytest.raises(StoreError, match="cannot write: disk I/O error"):
            await store.upsert_device(StoredDevice(DeviceConfig("r1", "192.0.2.1")))
        health = store.health()
        assert health.status is Status.DOWN and "writes fail: disk I/O error" in health.reasons
        assert store.dropped_samples == 1 and any("dropped" in r for r in health.reasons)
        monkeypatch.setattr(store, "_apply", real_apply)
        await store.upsert_device(StoredDevice(DeviceConfig("r1", "192.0.2.1")))  # the writer lived on
        assert store.health().status is Status.DEGRADED  # only the recent drop is left
        assert [d.device.id for d in await store.devices()] == ["r1"]
    assert store.health().status is Status.DOWN  # closed: the writer is gone


async def test_bus_is_degraded_while_a_subscriber_is_behind_or_dropped_lately():
    bus = Bus()
    assert bus.health().status is Status.OK
    with bus.subscribe(maxlen=4, name="slow") as sub:
        for n in range(3):
            bus.publish(n)
        assert bus.health().reasons == ("slow is behind: 3 of 4 events waiting",)
        for n in range(3):
            bus.publish(n)
        assert any("slow fell behind and dropped events lately (2 in all)" == r for r in bus.health().reasons)
        await sub.receive_batch()
        health = bus.health()
        assert health.status is Status.DEGRADED and len(health.reasons) == 1  # behind no more, the drop stays
    await trio.lowlevel.checkpoint()
