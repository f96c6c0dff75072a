"""Topology end to end: EyeNet (app.run) discovers the LLDP lab of network namespaces
(tests/lldp_lab.py: lldpd exposing LLDP-MIB through each node's snmpd) and pushes
changes to a /ws client subscribed to `topology`.

r1 (router) -eth1- s1 -eth2- s2: the graph has the three devices and both links with
each end's port; cutting s1 <-> s2 gives a link_change within two discovery cycles;
a new namespace s3 linked to r1 and added through the REST API gives a device_added.
"""

from __future__ import annotations

import json
from pathlib import Path

import lldp_lab
import pytest
import trio
from lldp_lab import wait_until
from restclient import api
from trio_websocket import open_websocket_url

from eyenet import app
from eyenet.alerts.rules import parse_rule
from eyenet.config import Config, SnmpSettings, StoreSettings, TopologySettings, WebSettings
from eyenet.devices.model import DeviceConfig
from eyenet.topology.graph import dot

pytestmark = pytest.mark.slow

PASSWORD = "topology-lab-password"
INTERVAL = 3.0  # seconds between discovery cycles


@pytest.fixture
def lab(tmp_path: Path):
    with lldp_lab.lab_for_test(tmp_path / "lab") as lab:
        yield lab


def device(node, name: str) -> DeviceConfig:
    return DeviceConfig(id=name, host=node.address, port=node.port, community=node.community, poll_interval=5)


async def line(lab):
    """r1 (router) -eth1- s1 -eth2- s2, once s1 hears both: (r1, s1, s2, the s1-s2 link)."""
    def build():
        r1 = lab.add_node("r1", capabilities=("router",))
        s1, s2 = lab.add_node("s1"), lab.add_node("s2")
        lab.link(r1, s1, "eth1", "eth1")
        s1_s2 = lab.link(s1, s2, "eth2", "eth1")
        wait_until(lambda: len(s1.lldp_neighbours()) == 2, 15, "s1 hears r1 and s2")
        return r1, s1, s2, s1_s2
    return await trio.to_thread.run_sync(build)


async def login(port: int) -> str:
    status, session = await api(port, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})
    assert status == 200, session
    return session["token"]


async def next_topology(ws, wait_cycles, services) -> dict:
    """The next topology:update, if it comes within `wait_cycles` discovery cycles."""
    async def cycles():
        for _ in range(wait_cycles):
            await services.topology.next_cycle()

    result = {}
    async with trio.open_nursery() as nursery:
        async def receive():
            while True:
                message = json.loads(await ws.get_message())
                if message.get("type") == "topology:update":
                    result["event"] = message
                    nursery.cancel_scope.cancel()
                    return

        async def deadline():
            await cycles()
            await trio.sleep(0.5)  # the cycle's events are published just before it ends
            nursery.cancel_scope.cancel()

        nursery.start_soon(receive)
        nursery.start_soon(deadline)
    assert "event" in result, f"no topology:update within {wait_cycles} discovery cycles"
    return result["event"]


async def test_eyenet_discovers_the_lldp_lab_and_pushes_its_changes(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", PASSWORD)
    run = trio.to_thread.run_sync
    r1, s1, s2, s1_s2 = await line(lab)

    config = Config(
        path="topology lab", snmp=SnmpSettings(timeout=1, retries=1),
        store=StoreSettings(path=str(tmp_path / "eyenet.db")),
        devices=(device(r1, "r1"), device(s1, "s1"), device(s2, "s2")),
        web=WebSettings(host="127.0.0.1", port=0), topology=TopologySettings(interval=INTERVAL),
    )
    async with trio.open_nursery() as nursery:
        services = await nursery.start(app.run, config)
        port = services.addresses[0][1]
        token = await login(port)
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}") as ws:
            await ws.send_message(json.dumps({"type": "subscribe", "ref": 1, "data": {"type": "topology"}}))
            assert json.loads(await ws.get_message())["data"] == {"status": "subscribed", "channel": "topology"}

            with trio.fail_after(30):
                while len(services.topology.graph.links) < 2:
                    await services.topology.next_cycle()
            status, graph = await api(port, "GET", "/api/topology", token)
            assert status == 200
            assert {n["id"]: (n["type"], n["managed"]) for n in graph["nodes"]} == {
                "r1": ("router", True), "s1": ("switch", True), "s2": ("switch", True),
            }
            assert sorted((x["source"], x["sourcePort"], x["target"], x["targetPort"], x["protocol"]) for x in graph["links"]) == [
                ("r1", "eth1", "s1", "eth1", "lldp"), ("s1", "eth2", "s2", "eth1", "lldp"),
            ]
            status, text = await api(port, "GET", "/api/topology?format=dot", token)
            print(text.decode())  # the lab's graph, for the issue note

            # Cut s1 <-> s2: a link_change within two discovery cycles.
            await run(lambda: lab.cut(s1_s2))
            event = await next_topology(ws, 2, services)
            assert event["data"]["changeType"] == "link_change"
            assert {d["id"]: d["connections"] for d in event["data"]["devices"]} == {"s1": ["r1"], "s2": []}

            # A new namespace linked to r1, added through the API: device_added (with r1's link change).
            s3 = await run(lambda: lab.add_node("s3"))
            await run(lambda: lab.link(r1, s3, "eth2", "eth1"))
            await run(lambda: wait_until(lambda: len(r1.lldp_neighbours()) == 2, 15, "r1 hears s3"))
            status, _ = await api(port, "POST", "/api/devices", token, {
                "id": "s3", "host": s3.address, "community": s3.community, "pollInterval": 5,
            })
            assert status == 201
            event = await next_topology(ws, 2, services)
            assert event["data"]["changeType"] == "device_added"
            assert event["data"]["devices"] == [{"id": "s3", "type": "switch", "connections": ["r1"]}]
            print(dot(services.topology.graph))
        nursery.cancel_scope.cancel()


async def test_auto_discovery_and_a_failure_behind_another_raises_only_the_root_cause(lab, tmp_path, monkeypatch):
    """Only r1 is configured; s1 and s2 are found through LLDP in the lab's subnet and added.
    Then s1 and s2 stop answering: s1's device-down alert is pushed, s2's is recorded with
    suppressedBy = s1's alert and never pushed (r1 is the root: s2 is reached only through s1)."""
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", PASSWORD)
    run = trio.to_thread.run_sync
    r1, s1, s2, _ = await line(lab)

    fast_down = parse_rule({"id": "device-down", "metric": "device.status", "op": "==", "threshold": "down",
                            "for": 4, "severity": "critical"})
    config = Config(
        path="topology lab", snmp=SnmpSettings(timeout=0.5, retries=1),
        store=StoreSettings(path=str(tmp_path / "eyenet.db")), devices=(device(r1, "r1"),),
        web=WebSettings(host="127.0.0.1", port=0), rules=(fast_down,),
        topology=TopologySettings(
            interval=INTERVAL, roots=("r1",), discover_subnets=(str(lab.network),), discover_poll_interval=2,
        ),
    )
    async with trio.open_nursery() as nursery:
        services = await nursery.start(app.run, config)
        port = services.addresses[0][1]
        token = await login(port)
        with trio.fail_after(60):  # s1 in r1's first cycle, s2 in s1's
            while {n.id for n in services.topology.graph.nodes.values() if n.managed} != {"r1", "s1", "s2"} \
                    or len(services.topology.graph.links) != 2:
                await services.topology.next_cycle()
        status, devices = await api(port, "GET", "/api/devices", token)
        added = {d["id"]: d for d in devices["devices"] if d["id"] != "r1"}
        assert {d: (x["host"], x["tags"], x["source"]) for d, x in added.items()} == {
            "s1": (s1.address, ["discovered"], "api"), "s2": (s2.address, ["discovered"], "api"),
        }

        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}") as ws:
            await ws.send_message(json.dumps({"type": "subscribe", "ref": 1, "data": {"type": "alerts"}}))
            json.loads(await ws.get_message())
            await run(s2.snmpd.stop)  # the far one first: its failure is seen before its cause's
            await run(s1.snmpd.stop)
            with trio.fail_after(60):
                while True:
                    message = json.loads(await ws.get_message())
                    if message["type"] == "alert:new":
                        break
            assert message["data"]["deviceId"] == "s1" and message["data"]["ruleId"] == "device-down"
            root_id = message["data"]["alertId"]
            with trio.fail_after(30):
                while True:
                    status, alerts = await api(port, "GET", "/api/alerts?deviceId=s2", token)
                    if alerts["alerts"]:
                        break
                    await trio.sleep(0.5)
            [held] = alerts["alerts"]
            assert (held["status"], held["suppressedBy"]) == ("open", root_id)
            # Nothing else was pushed meanwhile: s2's alert stays off the wire.
            with trio.move_on_after(3):
                while True:
                    extra = json.loads(await ws.get_message())
                    assert extra["type"] != "alert:new", extra
        nursery.cancel_scope.cancel()
