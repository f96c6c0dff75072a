"""The devices EyeNet monitors, their tags, and their live state.

Every monitored device is in the store: configured ones (source "config", written
there from the configuration file at each start) and those added through the API
(source "api"). The inventory keeps them in memory, so requests and the push hub's
scope checks (:meth:`Inventory.device_tags`) never wait on the database, and
follows the bus for each device's latest status and metrics, so the REST API
answers "how is it now" without a query.

Changes through the API write the store first, then tell the poller. Configured
devices cannot be changed or deleted that way: the configuration file is their
source, and the next start or reload (SIGHUP: sync_configured) would undo the change.

SNMP credentials (the community, SNMPv3 passwords) are write-only: they live in
DeviceConfig (repr=False) for the poller and never appear in a log line here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs
import trio

from eyenet.bus import Bus, Lagged
from eyenet.daemon.changes import Changes, diff
from eyenet.devices.model import V3_KEYS, DeviceConfig, StoredDevice, device_problems
from eyenet.events import DeviceMetrics, DeviceStatus
from eyenet.store.db import Store
from eyenet.validate import Problem, Reader

log = logging.getLogger("eyenet.inventory")

BUS_BUFFER = 65_536  # events the inventory may fall behind the bus before it drops (logged)
# The poller rereads only these; a change of tags alone does not restart its polls.
POLLED_FIELDS = ("host", "port", "version", "community", "poll_interval", *V3_KEYS)
# DeviceConfig attribute -> its name in the API's JSON (camelCase), where they differ.
JSON_NAMES = {
    "poll_interval": "pollInterval", "auth_protocol": "authProtocol", "auth_password": "authPassword",
    "priv_protocol": "privProtocol", "priv_password": "privPassword",
}


class DevicePoller(Protocol):
    def add(self, device: DeviceConfig) -> None: ...

    def remove(self, device_id: str) -> None: ...


class InventoryError(Exception):
    """A change the inventory refuses; str() says why."""


class UnknownDevice(InventoryError):
    pass


class DeviceExists(InventoryError):
    pass


class ConfiguredDevice(InventoryError):
    """The device comes from the configuration file."""


class InvalidDevice(InventoryError):
    """Every problem of a device body, by JSON name; `field` and `reason` are the first's."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems
        self.field, self.reason = problems[0].key, problems[0].reason


def device_from_json(fields: Mapping[str, Any]) -> DeviceConfig:
    """A device from an API body (JSON names), checked as a [[devices]] table of the
    configuration file is: DeviceConfig declares the checks for both."""
    r = Reader()
    values = r.fields(DeviceConfig, fields, names=JSON_NAMES)
    if r.problems:
        raise InvalidDevice(r.problems)
    return _whole(DeviceConfig(**values), values)


def changed_device(device: DeviceConfig, changes: Mapping[str, Any]) -> DeviceConfig:
    """`device` with the JSON `changes` applied, checked as a new device is."""
    if "id" in changes:
        raise InvalidDevice([Problem("id", "cannot change: remove the device and add it again under the new id")])
    r = Reader()
    values = r.fields(DeviceConfig, changes, names=JSON_NAMES, partial=True)
    if r.problems:
        raise InvalidDevice(r.problems)
    return _whole(attrs.evolve(device, **values), values)


def _whole(device: DeviceConfig, given: Mapping[str, Any]) -> DeviceConfig:
    """device, once its keys agree with one another (SNMPv3's), problems by JSON name."""
    if problems := device_problems(device, own_keys=given):
        raise InvalidDevice([Problem(JSON_NAMES.get(p.key, p.key), p.reason) for p in problems])
    return device


@attrs.define
class LiveState:
    """What the bus last said about one device."""

    status: str | None = None  # up | down | degraded; None before the first poll
    reason: str | None = None
    last_seen: datetime | None = None
    metrics: DeviceMetrics | None = None
    # sysUpTime arrives only with status changes (device:status); it is carried
    # forward by the time the device has answered since.
    _uptime: int | None = attrs.field(default=None, init=False)
    _uptime_at: datetime | None = attrs.field(default=None, init=False)

    @property
    def uptime(self) -> int | None:
        """Seconds. A reboot between two status changes shows only at the next change."""
        if self._uptime is None or self._uptime_at is None or self.last_seen is None:
            return self._uptime
        return self._uptime + max(0, int((self.last_seen - self._uptime_at).total_seconds()))

    def apply(self, event: DeviceStatus | DeviceMetrics) -> None:
        if isinstance(event, DeviceStatus):
            self.status, self.reason = event.status, event.reason
            self._uptime, self._uptime_at = event.uptime, event.last_seen
            if event.last_seen is not None:
                self.last_seen = max(event.last_seen, self.last_seen or event.last_seen)
        else:
            self.metrics = event
            # Metrics are published only for polls that were answered.
            self.last_seen = max(event.timestamp, self.last_seen or event.timestamp)


@attrs.frozen
class Monitored:
    config: DeviceConfig
    source: str  # "config" or "api"
    live: LiveState

    @property
    def id(self) -> str:
        return self.config.id


class Inventory:
    """Build it, `await load()`, start `run` in a nursery before the poller, then
    hand the poller `configs()`."""

    def __init__(self, store: Store, bus: Bus, poller: DevicePoller):
        self._store = store
        self._bus = bus
        self._poller = poller
        self._devices: dict[str, Monitored] = {}
        # Serialises changes: check, store write and poller call are one step.
        self._lock = trio.Lock()

    async def load(self) -> None:
        """Read the devices from the store (configured ones are written there at start)."""
        self._devices = {
            s.device.id: Monitored(s.device, s.source, LiveState()) for s in await self._store.devices()
        }

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Follow the bus: each device's latest status and metrics."""
        with self._bus.subscribe(maxlen=BUS_BUFFER, types=(DeviceStatus, DeviceMetrics), name="inventory") as events:
            task_status.started()
            async for batch in events.batches():
                for event in batch:
                    if isinstance(event, Lagged):
                        log.warning("the inventory fell behind the bus: %d device events dropped", event.missed)
                        continue
                    # A device removed meanwhile: its last poll's events arrive after it.
                    monitored = self._devices.get(event.device_id)
                    if monitored is not None:
                        monitored.live.apply(event)

    # -- reads ------------------------------------------------------------------------------

    def devices(self) -> list[Monitored]:
        return sorted(self._devices.values(), key=lambda m: m.id)

    def configs(self) -> list[DeviceConfig]:
        return [m.config for m in self.devices()]

    def get(self, device_id: str) -> Monitored | None:
        return self._devices.get(device_id)

    def device_tags(self, device_id: str) -> tuple[str, ...] | None:
        """A monitored device's tags; None when there is no such device (the push hub's scope check)."""
        monitored = self._devices.get(device_id)
        return None if monitored is None else monitored.config.tags

    # -- changes of the configuration file (a reload) -----------------------------------------

    async def sync_configured(self, devices: Sequence[DeviceConfig]) -> Changes:
        """Make the configured devices those of the file, as a start does: new ones are polled,
        those taken out of it are no longer (their history stays), changed ones keep their live
        state and restart their polls if a polled field changed. A device the API added that the
        file now lists becomes a configured one. Returns what changed."""
        wanted = {d.id: d for d in devices}
        async with self._lock:
            before = {m.id: m for m in self._devices.values() if m.source == "config" or m.id in wanted}
            changes = diff({i: m.config for i, m in before.items()}, wanted)
            taken_over = tuple(
                f"{i} (now from the configuration file)" for i, m in sorted(before.items())
                if m.source != "config" and m.config == wanted[i]
            )
            for device_id in changes.removed:
                await self._store.delete_device(device_id)
                del self._devices[device_id]
                self._poller.remove(device_id)
            for device in devices:
                old = before.get(device.id)
                if old is not None and old.config == device and old.source == "config":
                    continue
                await self._store.upsert_device(StoredDevice(device, source="config"))
                self._devices[device.id] = Monitored(device, "config", old.live if old is not None else LiveState())
                if old is None or any(getattr(old.config, f) != getattr(device, f) for f in POLLED_FIELDS):
                    self._poller.add(device)
        return attrs.evolve(changes, changed=changes.changed + taken_over)

    # -- changes (through the API) ---------------------------------------------------------------

    async def add(self, device: DeviceConfig) -> Monitored:
        async with self._lock:
            if device.id in self._devices:
                raise DeviceExists(f"a device with id {device.id!r} already exists")
            await self._store.upsert_device(StoredDevice(device, source="api"))
            monitored = self._devices[device.id] = Monitored(device, "api", LiveState())
            self._poller.add(device)
        log.info("device %s added (%s port %d)", device.id, device.host, device.port)
        return monitored

    async def update(self, device: DeviceConfig) -> Monitored:
        """Replace the configuration of the device with `device.id`."""
        async with self._lock:
            old = self.changeable(device.id)
            await self._store.upsert_device(StoredDevice(device, source="api"))
            monitored = self._devices[device.id] = Monitored(device, "api", old.live)
            if any(getattr(old.config, f) != getattr(device, f) for f in POLLED_FIELDS):
                self._poller.add(device)  # restarts its polls with the new settings
        log.info("device %s changed", device.id)
        return monitored

    async def remove(self, device_id: str) -> None:
        async with self._lock:
            self.changeable(device_id)
            await self._store.delete_device(device_id)
            del self._devices[device_id]
            self._poller.remove(device_id)
        log.info("device %s removed (its history stays until retention)", device_id)

    def changeable(self, device_id: str) -> Monitored:
        """The device, if the API may change it; UnknownDevice or ConfiguredDevice otherwise."""
        monitored = self._devices.get(device_id)
        if monitored is None:
            raise UnknownDevice(f"no device with id {device_id!r}")
        if monitored.source == "config":
            raise ConfiguredDevice(
                f"device {device_id!r} comes from the configuration file: change or remove it there, then reload EyeNet (SIGHUP)"
            )
        return monitored
