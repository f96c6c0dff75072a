"""The root nursery: store, bus, SNMP client, poller, push hub and the web front, wired together."""

import logging
import os
import shlex
from pathlib import Path
from typing import TextIO

import attrs
import trio

from eyenet.alerts.notify import Notifier
from eyenet.alerts.service import AlertService
from eyenet.anomaly.service import MlService
from eyenet.auth import initial
from eyenet.auth.tokens import TokenAuthority
from eyenet.auth.users import ensure_admin, limit_hashes
from eyenet.auth.watch import UserWatch
from eyenet.bus import Bus
from eyenet.collect.poller import Poller
from eyenet.collect.profiles import ProfileError, ProfileSet, load_profiles
from eyenet.collect.traps import TrapService
from eyenet.config import Config, ConfigError, find_config, load_config, restart_needed
from eyenet.daemon import memory
from eyenet.daemon.changes import diff
from eyenet.daemon.control import Control
from eyenet.daemon.summary import Counts
from eyenet.devices.inventory import Inventory
from eyenet.devices.model import StoredDevice
from eyenet.events import DeviceMetrics, DeviceStatus
from eyenet.health import Health, overall
from eyenet.snmp.client import SnmpClient
from eyenet.store.db import Store
from eyenet.topology.service import TopologyService
from eyenet.web.front import open_door, serve
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
    traps: TrapService | None = None  # with [traps] enabled


async def first_admin(store: Store, config: Config, terminal: TextIO | None = None) -> None:
    """The first start creates `admin`. A generated password goes to a file only EyeNet's user
    may read, whose path is logged; and to `terminal` if given (someone watching the command,
    never the journal). The password itself is never logged."""
    data_dir = Path(config.store.path).parent
    password = await ensure_admin(store, os.environ, keep=lambda password: initial.keep(data_dir, password))
    if password is None:
        return
    path, hint = initial.password_file(data_dir), passwd_hint(config)
    log.info("created the user admin; its generated password is in %s (mode 0600); change it with: %s", path, hint)
    if terminal is not None:
        print(f"eyenet: log in as admin with password {password}\n"
              f"eyenet: it stays in {path} until you change it with: {hint}", file=terminal, flush=True)


def passwd_hint(config: Config) -> str:
    """The command that changes the admin's password, as the operator would type it."""
    if not Path(config.path).is_file():  # a configuration built in code: the demo's
        return f"eyenet user passwd admin --db {shlex.quote(config.store.path)}"
    found = find_config()
    if found is not None and Path(found).resolve() == Path(config.path).resolve():
        return "eyenet user passwd admin"
    return f"eyenet user passwd admin -c {shlex.quote(config.path)}"


# At a shut-down, how long clients get to take their goodbye and polls in flight to finish
# (both at once); then the rest is cancelled. With the store's flush and the demo lab's stop,
# EyeNet is gone within 5 s.
STOP_GRACE = 2.0


async def run(
    config: Config, *, metrics_level: int = logging.DEBUG, init: bool = False, control: Control | None = None,
    terminal: TextIO | None = None, task_status=trio.TASK_STATUS_IGNORED,
) -> None:
    """Run until cancelled; with a `control`, until it asks to stop (then in order: see stop_in_order).
    terminal: where a generated first password is shown besides its file (see first_admin)."""
    profiles = load_profiles(config.profiles_dir)
    authority = TokenAuthority.from_settings(config.token_settings)  # key problems surface before anything starts
    limit_hashes(config.auth.hash_concurrency)
    door = open_door(config.web)  # first: the store and the SNMP sockets open under the raised limit
    bus = Bus()
    async with Store.open(config.store.path, config.store, exclusive=True, init=init) as store:
        await first_admin(store, config, terminal)
        await sync_configured_devices(store, config)
        async with SnmpClient.open(max_in_flight=config.snmp.max_in_flight) as client:
            async with trio.open_nursery() as nursery:
                poller = Poller(client, bus, store.add_samples, profiles, config, store.add_status_changes)
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
                    roots=topology.roots,
                )
                await alerts.load(config.rules, devices=[d.id for d in devices.configs()])
                await nursery.start(alerts.run)
                ml = MlService(
                    store, bus, settings=config.anomaly, devices=lambda: [(d.id, d.poll_interval) for d in devices.configs()],
                )
                await ml.load()
                await nursery.start(ml.run)
                users = UserWatch(store)
                await nursery.start(users.run)
                hub = Hub(bus, authority, devices.device_tags, config.push, users=users)
                await nursery.start(hub.run)
                socketio = SocketIOServer(hub, config.web)
                await nursery.start(socketio.run)
                traps = (
                    TrapService(config.traps, devices.configs, poller.poll_now, bus.publish, store.add_traps)
                    if config.traps.enabled else None
                )

                def health_components() -> dict[str, Health]:
                    return {
                        "store": store.health(), "poller": poller.health(), "bus": bus.health(), "alerts": alerts.health(),
                        "topology": topology.health(), "ml": ml.health(), "push": hub.health(),
                        "web": door.health(trio.current_time()),
                        **({"traps": traps.health()} if traps is not None else {}),
                    }

                rest = RestApi(
                    devices, store, alerts, topology, ml, authority, settings=config.web, health_fn=health_components,
                    users=users,
                )
                plain_ws = PlainWsServer(hub, config.web)
                web_app = WebApp(rest, socketio, plain_ws)
                stop_web, web_done = trio.Event(), trio.Event()
                addresses = await nursery.start(_serve, web_app, config.web, door, stop_web, web_done)
                scheme = "https" if config.web.tls_cert else "http"
                shown = (f"[{h}]" if ":" in h else h for h, _ in addresses)
                log.info("REST, /ws and Socket.IO on %s", ", ".join(f"{scheme}://{h}:{p}" for h, (_, p) in zip(shown, addresses)))
                log.info(
                    "connections: at most %d, %d from one address (open files limit %d, %d kept for the store, SNMP "
                    "and webhooks)", door.caps.total, door.caps.per_address, door.open_files, door.reserve,
                )
                if not devices.configs():
                    log.warning("%s lists no devices and none were added: nothing to poll", config.path)
                log.info("polling %d device(s); history in %s", len(devices.configs()), config.store.path)
                await nursery.start(poller.run, devices.configs())
                await nursery.start(topology.run)
                if traps is not None:
                    await nursery.start(traps.run)
                nursery.start_soon(memory.give_back_every)
                task_status.started(Services(poller, devices, alerts, topology, hub, addresses, traps))
                if control is None:
                    return  # the services run until cancelled

                def counts() -> Counts:
                    polled = poller.health().details
                    return Counts(
                        len(devices.configs()), int(polled["up"] or 0), int(polled["degraded"] or 0),
                        int(polled["down"] or 0), len(hub.sessions), int(polled["polls"] or 0), int(polled["latePolls"] or 0),
                    )

                reloader = Reloader(config, profiles, devices, poller, alerts)
                control.ready(counts)
                nursery.start_soon(control.heartbeat, lambda: overall(health_components()))
                nursery.start_soon(control.summaries)
                nursery.start_soon(control.reloads, reloader.reload)
                await control.stop_requested.wait()
                await stop_in_order(control, stop_web, web_done, (socketio, plain_ws), poller)
                nursery.cancel_scope.cancel()
        if control is not None:
            await store.flush()
            control.note("the store's queue written")


async def _serve(
    web_app: WebApp, settings, door, stop: trio.Event, done: trio.Event, *, task_status=trio.TASK_STATUS_IGNORED
):
    try:
        await serve(web_app, settings, stop=stop, door=door, task_status=task_status)
    finally:
        done.set()


async def stop_in_order(control: Control, stop_web: trio.Event, web_done: trio.Event, push, poller: Poller) -> None:
    """The first steps of a shut-down: stop accepting, say goodbye to the push clients (WebSocket
    close 1001, Socket.IO DISCONNECT) and let the polls in flight finish, at once and for
    STOP_GRACE seconds at most. The caller then cancels the rest, and the store flushes its queue."""
    stop_web.set()
    clients = sum(server.going_away() for server in push)

    async def connections_end() -> None:
        with trio.move_on_after(STOP_GRACE) as waited:
            await web_done.wait()
        if waited.cancelled_caught:
            control.note(f"connections still open after {STOP_GRACE:g} s cut")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(connections_end)
        finished, cancelled = await poller.stop(STOP_GRACE)
    control.note(f"{clients} push client{'s' if clients != 1 else ''} closed")
    control.note(f"{finished} poll{'s' if finished != 1 else ''} in flight finished, {cancelled} cancelled")


class Reloader:
    """SIGHUP: the devices, rules and device profiles of the configuration file again, without a
    restart (clients stay connected); what else changed in the file waits for the next start."""

    def __init__(self, config: Config, profiles: ProfileSet, devices: Inventory, poller: Poller, alerts: AlertService) -> None:
        self.config = config
        self.devices = devices
        self.poller = poller
        self.alerts = alerts
        self.profiles = {p.name: p for p in profiles.profiles}

    async def reload(self) -> None:
        path = self.config.path
        try:
            new = load_config(path)
            profiles = load_profiles(new.profiles_dir)
        except (ConfigError, ProfileError) as exc:
            log.error("reload: %s is not valid, nothing changed:\n%s", path, exc)
            return
        found = []
        by_name = {p.name: p for p in profiles.profiles}
        changed = diff(self.profiles, by_name)
        if changed:
            self.poller.set_profiles(profiles)
            self.profiles = by_name
            found.append(changed.describe("profiles"))
        changed = await self.devices.sync_configured(new.devices)
        for device_id in changed.removed:
            await self.alerts.forget_device(device_id)  # its open alerts resolve, as at a start
        if changed:
            found.append(changed.describe("devices"))
        changed = await self.alerts.reload_rules(new.rules)
        if changed:
            found.append(changed.describe("rules"))
        log.info("reloaded %s: %s", path, "; ".join(found) if found else "no change to devices, rules or profiles")
        if later := restart_needed(self.config, new):
            log.warning("reload: %s changed too, which takes a restart", ", ".join(later))
        self.config = attrs.evolve(self.config, devices=new.devices, rules=new.rules, profiles_dir=new.profiles_dir)
