"""The whole topology cycle over every device recording at once, and one device's odd data
never taking the map from the others."""

from __future__ import annotations

import logging

import agents
import attrs
import trio
from test_inventory import RecordingPoller

from eyenet.bus import Bus
from eyenet.devices.inventory import Inventory
from eyenet.devices.model import DeviceConfig, StoredDevice
from eyenet.snmp.client import SnmpClient, Target
from eyenet.store.db import Store
from eyenet.topology.graph import Graph, Link
from eyenet.topology.read import read_neighbours
from eyenet.topology.service import TopologyService

ALL_RECORDINGS = agents.recording_names(agents.SNMPREC_DIR)


def device_id(name: str) -> str:
    return name.replace("_", "-").replace(".", "-")


async def cycle(tmp_path, agent, extra=(), seed=None):
    """One discovery cycle over every recording (plus `extra` devices); `seed`: reports
    the service holds before the cycle, as a previous one would have left them."""
    devices = [DeviceConfig(device_id(n), agent.host, agent.port, community=n) for n in ALL_RECORDINGS] + list(extra)
    async with Store.open(tmp_path / "eyenet.db") as store, SnmpClient.open() as client:
        for device in devices:
            await store.upsert_device(StoredDevice(device))
        bus = Bus()
        inventory = Inventory(store, bus, RecordingPoller())
        await inventory.load()

        def target(d: DeviceConfig) -> Target:
            return Target(d.host, d.port, community=d.community, timeout=10 if d.port == agent.port else 0.2, retries=0)

        service = TopologyService(client, inventory, target, store, bus)
        service.reports.update(seed or {})
        with trio.fail_after(120):
            graph = await service.discover()
        return service, graph, await store.topology()


async def test_the_whole_cycle_over_every_recording(tmp_path, snmpsim_agent, caplog):
    caplog.set_level(logging.WARNING, "eyenet.topology")
    _, graph, stored = await cycle(tmp_path, snmpsim_agent)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    managed = {n.id for n in graph.nodes.values() if n.managed}
    assert managed == {device_id(n) for n in ALL_RECORDINGS}
    assert stored is not None and Graph.from_json(stored[1]) == graph
    assert len(graph.links) >= 100  # every recording's neighbours, most of them unmanaged endpoints


async def test_one_devices_odd_report_never_takes_the_map(tmp_path, snmpsim_agent, caplog):
    """A device that stopped answering keeps its last report; here that report holds data the
    graph cannot use (a sysName that is not text). The cycle still maps every other device,
    and a warning names the device left out."""
    silent = DeviceConfig("odd-device", "127.0.0.1", agents.free_udp_port(), community="x")
    async with SnmpClient.open() as client:
        good = await read_neighbours(client, Target(snmpsim_agent.host, snmpsim_agent.port, community="ios_2960x"))
    odd = attrs.evolve(good, local=attrs.evolve(good.local, sys_name=12345))
    caplog.set_level(logging.WARNING, "eyenet.topology")
    _, graph, _ = await cycle(tmp_path, snmpsim_agent, extra=[silent], seed={"odd-device": odd})
    assert {n.id for n in graph.nodes.values() if n.managed} >= {device_id(n) for n in ALL_RECORDINGS}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(w.startswith("odd-device: ") for w in warnings), warnings


def test_links_with_and_without_ports_sort():
    """Two links between the same devices, one with an unknown port: the map still serialises."""
    graph = Graph({}, frozenset({Link("a", "b", None, "x", "lldp"), Link("a", "b", "Gi0/1", None, "cdp")}))
    assert [link["sourcePort"] for link in graph.to_json()["links"]] == [None, "Gi0/1"]
    assert Graph.from_json(graph.to_json()) == graph
