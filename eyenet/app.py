"""The root nursery: store, bus, SNMP client, profiles and the poller, wired together."""

import logging

import trio

from .bus import Bus
from .config import Config, DeviceConfig
from .events import DeviceMetrics, DeviceStatus
from .poller import Poller
from .profiles import load_profiles
from .snmp import SnmpClient
from .store import Store, StoredDevice

log = logging.getLogger("eyenet")


async def inventory(store: Store, config: Config) -> list[DeviceConfig]:
    """Configured devices (written to the store, so it holds them all) plus those added at run time."""
    configured = {d.id for d in config.devices}
    for device in config.devices:
        await store.upsert_device(StoredDevice(device, source="config"))
    stored = await store.devices()
    added = [s.device for s in stored if s.source != "config" and s.device.id not in configured]
    # A device removed from the configuration file stops being polled; its history stays.
    for s in stored:
        if s.source == "config" and s.device.id not in configured:
            await store.delete_device(s.device.id)
    return [*config.devices, *added]


def _mbps(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:.2f} Mb/s"


async def log_events(bus: Bus, metrics_level: int) -> None:
    """What an operator sees on the console (or the journal) before any dashboard is connected."""
    with bus.subscribe(types=(DeviceStatus, DeviceMetrics), name="console") as events:
        async for event in events:
            if isinstance(event, DeviceStatus):
                level = logging.INFO if event.status == "up" else logging.WARNING
                log.log(level, "%s is %s%s", event.device_id, event.status, f" ({event.reason})" if event.reason else "")
            elif isinstance(event, DeviceMetrics):
                log.log(
                    metrics_level, "%s: cpu %s%%, memory %s%%, in %s, out %s", event.device_id,
                    "-" if event.cpu is None else f"{event.cpu:.1f}",
                    "-" if event.memory is None else f"{event.memory:.1f}",
                    _mbps(event.bandwidth_in), _mbps(event.bandwidth_out),
                )


async def run(config: Config, *, metrics_level: int = logging.DEBUG, task_status=trio.TASK_STATUS_IGNORED) -> None:
    profiles = load_profiles(config.profiles_dir)
    bus = Bus()
    async with Store.open(config.store.path, config.store) as store:
        devices = await inventory(store, config)
        if not devices:
            log.warning("%s lists no devices and none were added: nothing to poll", config.path)
        log.info("polling %d device(s); history in %s", len(devices), config.store.path)
        async with SnmpClient.open(max_in_flight=config.snmp.max_in_flight) as client:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(log_events, bus, metrics_level)
                poller = Poller(client, bus, store, profiles, config)
                await nursery.start(poller.run, devices)
                task_status.started(poller)
