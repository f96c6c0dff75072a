"""The root nursery: store, bus, SNMP client, poller, push hub and the web front, wired together."""

import logging
import os
import sys

import attrs
import trio

from eyenet.alerts.notify import Notifier
from eyenet.alerts.service import AlertService
from eyenet.anomaly.service import MlService
from eyenet.auth.tokens import TokenAuthority
from eyenet.auth.users import ensure_admin
from eyenet.bus import Bus
from eyenet.collect.poller import Poller
from eyenet.collect.profiles import load_profiles
from eyenet.config import Config
from eyenet.devices.inventory import Inventory
from eyenet.devices.model import StoredDevice
from eyenet.events import DeviceMetrics, DeviceStatus
from eyenet.snmp.client import SnmpClient
from eyenet.store.db import Store
from eyenet.topology.service import TopologyService
from eyenet.web.front import serve
from eyenet.web.push.hub import Hub
from eyenet.web.push.plain_ws import PlainWsServer
from eyenet.web.push.socketio import SocketIOServer
from eyenet.web.rest.api import RestApi
from eyenet.web.server import WebApp

log = logging.getLogger("eyenet")


async def sync_configured_devices(store: Store, config: Config) -> None:
    """Write the configured devices to the store, which then holds every device the
    inventory loads (with those added at run time)."""
    configured = {d.id for d in config.devices}
    for device in config.devices:
        await store.upsert_device(StoredDevice(device, source="config"))
    # A device removed from the configuration file stops being polled; its history stays.
    for s in await store.devices():
        if s.source == "config" and s.device.id not in configured:
            await store.delete_device(s.device.id)


def _mbps(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:.2f} Mb/s"


async def log_events(bus: Bus, metrics_level: int) -> None:
    """What an operator sees on the console (or the journal) before any dashboard is connected."""
    with bus.subscribe(types=(DeviceStatus, DeviceMetrics), name="console") as events:
        async for batch in events.batches():
            for event in batch:
                _log_event(event, metrics_level)


def _log_event(event, metrics_level: int) -> None:
    if isinstance(event, DeviceStatus):
        level = logging.INFO if event.status == "up" else logging.WARNING
        log.log(level, "%s is %s%s", event.device_id, event.status, f" ({event.reason})" if event.reason else "")
    elif isinstance(event, DeviceMetrics) and log.isEnabledFor(metrics_level):  # every poll: format only if shown
        log.log(
            metrics_level, "%s: cpu %s%%, memory %s%%, in %s, out %s", event.device_id,
            "-" if event.cpu is None else f"{event.cpu:.1f}",
            "-" if event.memory is None else f"{event.memory:.1f}",
            _mbps(event.bandwidth_in), _mbps(event.bandwidth_out),
        )


@attrs.frozen
class Services:
    """What a running EyeNet is made of (for the demo, tests and benchmarks)."""

    poller: Poller
    inventory: Inventory
    alerts: AlertService
    topology: TopologyService
    hub: Hub
    addresses: list  # (host, port) the web front listens on


async def first_admin(store: Store) -> None:
    """The first start creates `admin`; a generated password is shown once, on stderr, never logged."""
    password = await ensure_admin(store, os.environ)
    if password is not None:
        print(
            f"eyenet: created user 'admin' with password {password}\n"
            "eyenet: it is shown only this once; change it with: eyenet user passwd admin",
            file=sys.stderr, flush=True,
        )


async def run(config: Config, *, metrics_level: int = logging.DEBUG, init: bool = False, task_status=trio.TASK_STATUS_IGNORED) -> None:
    profiles = load_profiles(config.profiles_dir)
    authority = TokenAuthority.from_settings(config.token_settings)  # key problems surface before anything starts
    bus = Bus()
    async with Store.open(config.store.path, config.store, exclusive=True, init=init) as store:
        await first_admin(store)
        await sync_configured_devices(store, config)
        async with SnmpClient.open(max_in_flight=config.snmp.max_in_flight) as client:
            async with trio.open_nursery() as nursery:
                poller = Poller(client, bus, store.add_samples, profiles, config)
                devices = Inventory(store, bus, poller)
                await devices.load()
                await nursery.start(devices.run)
                nursery.start_soon(log_events, bus, metrics_level)
                notifier = Notifier(config.webhooks)
                await nursery.start(notifier.run)
                topology = TopologyService(client, devices, poller.target, store, bus, config.topology)
                await topology.load()
                alerts = AlertService(
                    store, bus, devices.device_tags, notify=notifier.notify, topology=lambda: topology.graph,
                    roots=config.topology.roots,
                )
                await alerts.load(config.rules, devices=[d.id for d in devices.configs()])
                await nursery.start(alerts.run)
                ml = MlService(store, bus)
                await ml.load()
                await nursery.start(ml.run)
                hub = Hub(bus, authority, devices.device_tags, config.push)
                await nursery.start(hub.run)
                socketio = SocketIOServer(hub, config.web)
                await nursery.start(socketio.run)
                rest = RestApi(
                    devices, store, alerts, topology, ml, authority, settings=config.web,
                    health_fn=lambda: {
                        "store": store.health(), "poller": poller.health(), "bus": bus.health(), "alerts": alerts.health(),
                        "topology": topology.health(), "ml": ml.health(), "push": hub.health(),
                    },
                )
                web_app = WebApp(rest, socketio, PlainWsServer(hub, config.web))
                addresses = await nursery.start(serve, web_app, config.web)
                scheme = "https" if config.web.tls_cert else "http"
                shown = (f"[{h}]" if ":" in h else h for h, _ in addresses)
                log.info("REST, /ws and Socket.IO on %s", ", ".join(f"{scheme}://{h}:{p}" for h, (_, p) in zip(shown, addresses)))
                if not devices.configs():
                    log.warning("%s lists no devices and none were added: nothing to poll", config.path)
                log.info("polling %d device(s); history in %s", len(devices.configs()), config.store.path)
                await nursery.start(poller.run, devices.configs())
                await nursery.start(topology.run)
                task_status.started(Services(poller, devices, alerts, topology, hub, addresses))
