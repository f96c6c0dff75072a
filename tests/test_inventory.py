"""The inventory: devices from the store, changes written back and handed to the poller,
live state from the bus, credentials kept out of logs."""

import logging
from datetime import datetime, timedelta, timezone

import pytest
import trio

from eyenet.bus import Bus
from eyenet.devices.inventory import (
    ConfiguredDevice,
    DeviceExists,
    InvalidDevice,
    Inventory,
    UnknownDevice,
    changed_device,
    device_from_json,
)
from eyenet.devices.model import DeviceConfig, StoredDevice
from eyenet.events import DeviceMetrics, DeviceStatus, InterfaceMetrics
from eyenet.store.db import Store

T0 = datetime(2025, 1, 3, 7, 12, 55, tzinfo=timezone.utc)


class RecordingPoller:
    """Stands in for eyenet.poller.Poller: records what it was told."""

    def __init__(self):
        self.calls = []

    def add(self, device):
        self.calls.append(("add", device))

    def remove(self, device_id):
        self.calls.append(("remove", device_id))


@pytest.fixture
async def store(tmp_path):
    async with Store.open(tmp_path / "eyenet.db") as store:
        await store.upsert_device(StoredDevice(DeviceConfig("core-1", "192.0.2.1", tags=("core",)), source="config"))
        await store.upsert_device(StoredDevice(DeviceConfig("edge-9", "192.0.2.9", community="edge-secret")))
        yield store


@pytest.fixture
async def inventory(store):
    inv = Inventory(store, Bus(), RecordingPoller())
    await inv.load()
    return inv


async def test_load_reads_configured_and_added_devices(inventory):
    assert [(m.id, m.source) for m in inventory.devices()] == [("core-1", "config"), ("edge-9", "api")]
    assert [d.id for d in inventory.configs()] == ["core-1", "edge-9"]
    assert inventory.device_tags("core-1") == ("core",)
    assert inventory.device_tags("edge-9") == ()
    assert inventory.device_tags("nope") is None
    assert inventory.get("edge-9").live.status is None


async def test_add_writes_the_store_and_starts_polling(inventory, store, caplog):
    caplog.set_level(logging.DEBUG)
    device = DeviceConfig("sw-3", "sw3.example.net", port=1161, community="do-not-log", tags=("access",))
    await inventory.add(device)
    assert inventory._poller.calls == [("add", device)]
    assert inventory.device_tags("sw-3") == ("access",)
    stored = {s.device.id: s for s in await store.devices()}
    assert stored["sw-3"].source == "api" and stored["sw-3"].device == device
    with pytest.raises(DeviceExists, match="sw-3"):
        await inventory.add(DeviceConfig("sw-3", "192.0.2.3"))
    with pytest.raises(DeviceExists):
        await inventory.add(DeviceConfig("core-1", "192.0.2.3"))
    assert "sw-3" in caplog.text and "do-not-log" not in caplog.text


async def test_update_restarts_polls_only_when_polling_changes(inventory, store):
    old = inventory.get("edge-9")
    await inventory.update(DeviceConfig("edge-9", "192.0.2.9", community="edge-secret", tags=("edge",)))
    assert inventory._poller.calls == []  # tags are not the poller's business
    assert inventory.device_tags("edge-9") == ("edge",)
    assert inventory.get("edge-9").live is old.live  # what the bus said still holds
    changed = DeviceConfig("edge-9", "192.0.2.10", community="new-secret", tags=("edge",))
    await inventory.update(changed)
    assert inventory._poller.calls == [("add", changed)]
    assert {s.device.id: s.device for s in await store.devices()}["edge-9"] == changed


async def test_configured_devices_are_read_only(inventory, store):
    with pytest.raises(ConfiguredDevice, match="configuration file"):
        await inventory.update(DeviceConfig("core-1", "192.0.2.100"))
    with pytest.raises(ConfiguredDevice, match="configuration file"):
        await inventory.remove("core-1")
    with pytest.raises(UnknownDevice):
        await inventory.update(DeviceConfig("ghost", "192.0.2.100"))
    with pytest.raises(UnknownDevice):
        await inventory.remove("ghost")
    assert inventory._poller.calls == []
    assert [s.device.host for s in await store.devices()] == ["192.0.2.1", "192.0.2.9"]


async def test_remove_deletes_and_stops_polling(inventory, store):
    await inventory.remove("edge-9")
    assert inventory._poller.calls == [("remove", "edge-9")]
    assert inventory.get("edge-9") is None and inventory.device_tags("edge-9") is None
    assert [s.device.id for s in await store.devices()] == ["core-1"]


async def test_live_state_follows_the_bus(store):
    bus = Bus()
    inventory = Inventory(store, bus, RecordingPoller())
    await inventory.load()
    async with trio.open_nursery() as nursery:
        await nursery.start(inventory.run)
        bus.publish(DeviceStatus("core-1", "up", T0, uptime=1000, last_seen=T0))
        itf = InterfaceMetrics(1, "Gi0/1", "up", bps_in=1e6, bps_out=2e6)
        later = T0 + timedelta(seconds=60)
        bus.publish(DeviceMetrics("core-1", later, cpu=12.34, memory=40.0, bandwidth_in=1e6, bandwidth_out=2e6, interfaces=[itf]))
        bus.publish(DeviceStatus("gone", "up", T0))  # not monitored: ignored
        await trio.testing.wait_all_tasks_blocked()
        live = inventory.get("core-1").live
        assert (live.status, live.reason, live.last_seen) == ("up", None, later)
        assert live.metrics.interfaces == (itf,)
        assert live.uptime == 1060  # carried forward by the minute the device has answered since

        down = later + timedelta(seconds=60)
        bus.publish(DeviceStatus("core-1", "down", down, uptime=1060, last_seen=later, reason="timeout"))
        await trio.testing.wait_all_tasks_blocked()
        assert (live.status, live.reason, live.last_seen, live.uptime) == ("down", "timeout", later, 1060)
        assert inventory.get("gone") is None
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    "fields, field, reason",
    [
        ({"host": "h"}, "id", "is required"),
        ({"id": "a b", "host": "h"}, "id", "letters, digits"),
        ({"id": "a", "host": "h", "port": 70000}, "port", "not a UDP port"),
        ({"id": "a", "host": "h", "port": "161"}, "port", "must be int"),
        ({"id": "a", "host": "h", "pollInterval": 0}, "pollInterval", "1 to 86400 seconds"),
        ({"id": "a", "host": "h", "pollInterval": True}, "pollInterval", "not bool"),
        ({"id": "a", "host": "h", "version": "4"}, "version", "must be one of 1, 2c, 3"),
        ({"id": "a", "host": "h", "version": "3"}, "user", 'is required with version = "3"'),
        ({"id": "a", "host": "h", "tags": ["x", 1]}, "tags", "list of strings"),
        ({"id": "a", "host": "h", "poll_interval": 5}, "poll_interval", "unknown key"),
    ],
)
def test_device_from_json_names_the_field(fields, field, reason):
    with pytest.raises(InvalidDevice) as caught:
        device_from_json(fields)
    assert caught.value.field == field and reason in caught.value.reason


def test_device_from_json_defaults():
    device = device_from_json({"id": "sw-1", "host": "192.0.2.5", "pollInterval": 30, "community": "s3cret", "tags": ["a"]})
    assert device == DeviceConfig("sw-1", "192.0.2.5", 161, "2c", "s3cret", 30, ("a",))
    assert "s3cret" not in repr(device)


def test_changed_device_keeps_what_is_not_changed():
    device = DeviceConfig("sw-1", "192.0.2.5", 1161, "1", "s3cret", 30, ("a",))
    changed = changed_device(device, {"tags": ["b"], "pollInterval": 10})
    assert changed == DeviceConfig("sw-1", "192.0.2.5", 1161, "1", "s3cret", 10, ("b",))
    with pytest.raises(InvalidDevice, match="port: 0 is not a UDP port"):
        changed_device(device, {"port": 0})
    with pytest.raises(InvalidDevice) as caught:
        changed_device(device, {"id": "sw-2"})
    assert caught.value.field == "id" and "add it again" in caught.value.reason


async def test_a_reload_makes_the_configured_devices_those_of_the_file(inventory, store):
    core = inventory.get("core-1")
    core.live.status = "up"
    changes = await inventory.sync_configured([
        DeviceConfig("core-1", "192.0.2.1", tags=("core", "dc1")),  # tags only: its polls go on
        DeviceConfig("edge-9", "192.0.2.9", community="edge-secret"),  # added through the API: now configured
        DeviceConfig("new-2", "192.0.2.2", poll_interval=30.0),
    ])
    assert (changes.added, changes.removed) == (("new-2",), ())
    assert changes.changed == ("core-1 (tags)", "edge-9 (now from the configuration file)")
    assert "edge-secret" not in repr(changes)
    assert [c[0] + ":" + (c[1] if isinstance(c[1], str) else c[1].id) for c in inventory._poller.calls] == ["add:new-2"]
    assert inventory.get("core-1").live.status == "up" and inventory.device_tags("core-1") == ("core", "dc1")
    assert [(s.device.id, s.source) for s in await store.devices()] == [
        ("core-1", "config"), ("edge-9", "config"), ("new-2", "config"),
    ]
    inventory._poller.calls.clear()
    changes = await inventory.sync_configured([DeviceConfig("new-2", "192.0.2.22", poll_interval=30.0)])
    assert changes.removed == ("core-1", "edge-9") and changes.changed == ("new-2 (host)",)
    assert inventory._poller.calls[:2] == [("remove", "core-1"), ("remove", "edge-9")]
    assert inventory._poller.calls[2][0] == "add" and inventory._poller.calls[2][1].host == "192.0.2.22"
    assert [s.device.id for s in await store.devices()] == ["new-2"]
    assert not await inventory.sync_configured([DeviceConfig("new-2", "192.0.2.22", poll_interval=30.0)])
