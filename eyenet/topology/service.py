"""Topology discovery: the Trio edge around the graph (eyenet.topology.graph).

Every `interval` (and on demand) it reads each monitored device's neighbour tables
(eyenet.topology.read, a bounded number at once), builds the graph, and when
it differs from the last one stores a snapshot and publishes the differences as
topology:update. A device that does not answer keeps its last report, so one lost
SNMP answer never makes links vanish and come back, except for the links its live
neighbours no longer report (graph.build_graph's `stale`); a device no longer monitored
leaves the graph. Without configured roots it chooses the default root (the device
nearest EyeNet, for alert suppression) each cycle and logs the choice and why. The last snapshot is loaded at start, so a restart announces only
what changed while EyeNet was away.

Auto-discovery (off unless subnets are configured): an unmanaged neighbour whose
management address lies in one of the subnets is added to the inventory.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from datetime import datetime, timezone

import trio

from eyenet.bus import Bus
from eyenet.config import TopologySettings
from eyenet.devices.inventory import Inventory, InventoryError
from eyenet.devices.model import DEVICE_ID, DeviceConfig
from eyenet.health import Checks, Health
from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.errors import SnmpError
from eyenet.store.db import Store
from eyenet.topology.graph import Graph, RootChoice, checked_graph, default_root, diff, endpoint_id
from eyenet.topology.neighbours import DeviceNeighbours
from eyenet.topology.read import read_neighbours
from eyenet.topology.routes import gateways

log = logging.getLogger("eyenet.topology")

_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class TopologyService:
    def __init__(
        self,
        client: SnmpClient,
        inventory: Inventory,
        target_for: Callable[[DeviceConfig], Target],
        store: Store,
        bus: Bus,
        settings: TopologySettings = TopologySettings(),
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.client = client
        self.inventory = inventory
        self.target_for = target_for  # DeviceConfig -> snmp Target (the poller's settings)
        self.store = store
        self.bus = bus
        self.settings = settings
        self.clock = clock
        self.graph = Graph()
        self.updated_at: datetime | None = None
        self.reports: dict[str, DeviceNeighbours] = {}
        self._wanted = trio.Event()
        self._cycle_done = trio.Event()
        self._subnets = [ipaddress.ip_network(s, strict=False) for s in settings.discover_subnets]
        self._started: float | None = None  # trio.current_time() when run() started
        self._cycle_at: float | None = None  # ... when the last cycle completed
        self._failure: str | None = None  # why the last cycle failed; None after a success
        self.root: RootChoice | None = None  # the default root (configured roots win)

    async def load(self) -> None:
        latest = await self.store.topology()
        if latest is not None:
            ts, graph = latest
            self.graph = Graph.from_json(graph)
            self.updated_at = datetime.fromtimestamp(ts, timezone.utc)
        self._choose_root()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._started = trio.current_time()
        task_status.started()
        while True:
            try:
                await self.discover()
                self._failure = None
            except Exception as exc:  # a bug or a failing disk: logged; the next cycle tries again
                log.exception("topology discovery failed")
                self._failure = f"{type(exc).__name__}: {exc}"
            with trio.move_on_after(self.settings.interval):
                await self._wanted.wait()

    def health(self) -> Health:
        """Degraded when the last cycle failed, or none completed for three intervals."""
        now = trio.current_time()
        since = self._cycle_at if self._cycle_at is not None else self._started
        age = None if self._cycle_at is None else round(now - self._cycle_at, 1)
        checks = Checks({"lastCycleAge": age, "interval": self.settings.interval, "nodes": len(self.graph.nodes)})
        if self._started is None:
            checks.down("discovery is not running")
        elif since is not None and now - since > 3 * self.settings.interval:
            checks.degraded(f"no discovery cycle completed for {now - since:.0f} s (interval {self.settings.interval:g} s)")
        if self._failure is not None:
            checks.degraded(f"the last discovery cycle failed: {self._failure}")
        return checks.health()

    def request(self) -> None:
        """Run a discovery cycle now (POST /api/topology/discover)."""
        self._wanted.set()

    async def next_cycle(self) -> None:
        """Wait for the end of the next full cycle (tests, and callers of request())."""
        await self._cycle_done.wait()

    async def discover(self) -> Graph:
        self._wanted = trio.Event()
        devices = {m.id: m.config for m in self.inventory.devices()}
        self.reports = {d: r for d, r in self.reports.items() if d in devices}
        limit = trio.CapacityLimiter(self.settings.concurrency)
        answered: set[str] = set()

        async def read(device: DeviceConfig) -> None:
            async with limit:
                try:
                    self.reports[device.id] = await read_neighbours(self.client, self.target_for(device))
                    answered.add(device.id)
                except SnmpError as exc:
                    log.debug("%s: neighbours not read (%s); keeping the last report", device.id, exc)
                except Exception as exc:  # a bug on this device's data: never the others' map
                    log.warning("%s: neighbours not read (%s: %s); keeping the last report",
                                device.id, type(exc).__name__, exc, exc_info=True)

        async with trio.open_nursery() as nursery:
            for device in devices.values():
                nursery.start_soon(read, device)
        graph = self._graph(devices, stale=set(self.reports) - answered)
        now = self.clock()
        events = diff(self.graph, graph, now)
        if events or graph != self.graph:
            await self.store.add_topology(now.timestamp(), graph.to_json())
            self.graph, self.updated_at = graph, now
            for event in events:
                self.bus.publish(event)
            log.info("topology: %d nodes, %d links; %s", len(graph.nodes), len(graph.links),
                     ", ".join(f"{e.change_type} {len(e.devices)}" for e in events) or "ports changed")
        self._choose_root()
        if self._subnets:
            await self._auto_discover()
        self._cycle_at = trio.current_time()
        done, self._cycle_done = self._cycle_done, trio.Event()
        done.set()
        return self.graph

    def roots(self) -> tuple[str, ...]:
        """The devices nearest EyeNet, for alert suppression: [topology] roots, else the default root."""
        return self.settings.roots or ((self.root.device,) if self.root is not None else ())

    def _choose_root(self) -> None:
        if self.settings.roots:
            return
        choice = default_root(self.graph, self._gateway_devices())
        if choice != self.root:
            log.info("topology: default root %s (no [topology] roots configured): %s",
                     choice.device if choice else "none", choice.reason if choice else "no monitored device in the map")
        self.root = choice

    def _gateway_devices(self) -> set[str]:
        """Monitored devices holding a next hop of this host's routes (Linux; none elsewhere)."""
        texts = []
        for path in ("/proc/net/route", "/proc/net/ipv6_route"):
            try:
                with open(path) as f:
                    texts.append(f.read())
            except OSError:
                texts.append("")
        hops = gateways(*texts)
        if not hops:
            return set()
        found = {m.id for m in self.inventory.devices() if m.config.host in hops}
        found |= {d for d, r in self.reports.items() if hops.intersection(r.local.addresses)}
        return found

    def _graph(self, devices: dict[str, DeviceConfig], stale: set[str]) -> Graph:
        """The graph of every report; a report that makes the graph fail (a bug its odd data
        meets) is left out, with a warning naming its device, and the others still make the map."""
        hosts = {d: c.host for d, c in devices.items()}
        reports = {d: self.reports.get(d) for d in devices}
        try:
            return checked_graph(reports, hosts, stale=stale)
        except Exception:
            pass
        # Each report alone first (cheap), then, for a failure that takes two, one by one.
        kept: dict[str, DeviceNeighbours | None] = {d: None for d in devices}
        for alone in (True, False):
            for device_id, report in reports.items():
                if report is None or kept[device_id] is not None:
                    continue
                trial = {device_id: report} if alone else {**kept, device_id: report}
                try:
                    checked_graph(trial, hosts if not alone else {device_id: hosts[device_id]})
                except Exception as exc:
                    log.warning("%s: its neighbours are left out of the map (%s: %s)",
                                device_id, type(exc).__name__, exc, exc_info=True)
                    reports[device_id] = None
                    self.reports.pop(device_id, None)
                    continue
                if not alone:
                    kept[device_id] = report
            if alone:
                try:
                    return checked_graph(reports, hosts, stale=stale)
                except Exception:
                    pass
        return checked_graph(kept, hosts, stale=stale)

    async def _auto_discover(self) -> None:
        s = self.settings
        known_hosts = {m.config.host for m in self.inventory.devices()}
        for report in list(self.reports.values()):
            for n in report.neighbours:
                node = self.graph.nodes.get(endpoint_id(n))
                if node is None or node.managed:
                    continue  # matched to a monitored device (by chassis id, name or address)
                address = next((a for a in n.remote_addresses if self._in_subnets(a)), None)
                if address is None or address in known_hosts:
                    continue
                base = n.remote_name.split(".")[0] if n.remote_name else address  # sysName without its domain
                device_id = _ID.sub("-", base).strip("-")[:64]
                if not DEVICE_ID.match(device_id):
                    device_id = _ID.sub("-", address).strip("-")
                device = DeviceConfig(
                    id=device_id, host=address, port=s.discover_port, version=s.discover_version,
                    community=s.discover_community, poll_interval=s.discover_poll_interval, tags=s.discover_tags,
                )
                try:
                    await self.inventory.add(device)
                except InventoryError as exc:  # the id is taken, or the neighbour's name makes no id
                    log.info("auto-discovery: %s (%s) not added: %s", device_id, address, exc)
                    continue
                known_hosts.add(address)
                log.info("auto-discovery: added %s (%s), a neighbour of a monitored device", device_id, address)

    def _in_subnets(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._subnets)
