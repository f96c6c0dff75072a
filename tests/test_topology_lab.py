"""Topology end to end: EyeNet (app.run) discovers the LLDP lab of network namespaces
(tests/lldp_lab.py: lldpd exposing LLDP-MIB through each node's snmpd) and pushes
changes to a /ws client subscribed to `topology`.

r1 (router) -eth1- s1 -eth2- s2: the graph has the three devices and both links with
each end's port; cutting s1 <-> s2 gives a link_change within two discovery cycles;
a new namespace s3 linked to r1 and added through the REST API gives a device_added.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import attrs
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


async def receive(ws, wanted, seconds: float, what: str) -> dict:
    """The next pushed message for which wanted(message) holds, within `seconds`."""
    with trio.move_on_after(seconds):
        while True:
            message = json.loads(await ws.get_message())
            if wanted(message):
                return message
    raise AssertionError(f"no {what} within {seconds:g} s")


def link_event(change: str, link: dict):
    return lambda m: m["type"] == "topology:update" and link in m["data"].get(change, [])


async def test_the_map_stays_true_when_devices_misbehave(lab, tmp_path, monkeypatch, caplog):
    """r1 (router) =eth1,eth2= a1 (switch, two parallel links) -eth3- s2 (switch) are monitored;
    ur (router), ub (bridge) and us (station) are neighbours nobody monitors. In sequence:
    the unmanaged neighbours are typed from what they advertise; the default root is r1 (the
    router, though a1 has more monitored neighbours and its name comes first) and the log
    says why, and a1 while a route of this host goes through it (EyeNet's gateway); one of the
    parallel links goes and link_change names it; r1 and s2 stop answering: s2's alert is
    suppressed and logged so (behind r1), while a1, which still answers, raises a port alert
    that is pushed and stays open; then a1 <-> s2 is cut while s2 still does not answer, and
    the link goes (s2's last report does not keep it)."""
    caplog.set_level(logging.INFO, logger="eyenet")
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", PASSWORD)
    run = trio.to_thread.run_sync

    def build():
        r1 = lab.add_node("r1", capabilities=("router",))
        a1, s2 = lab.add_node("a1"), lab.add_node("s2")
        ur, ub, us = lab.add_node("ur", capabilities=("router",)), lab.add_node("ub"), lab.add_node("us", capabilities=("station",))
        lab.link(r1, a1, "eth1", "eth1")
        parallel = lab.link(r1, a1, "eth2", "eth2")
        a1_s2 = lab.link(a1, s2, "eth3", "eth1")
        lab.link(a1, ub, "eth4", "eth1")
        lab.link(r1, ur, "eth3", "eth1")
        lab.link(s2, us, "eth2", "eth1")
        wait_until(lambda: (len(r1.lldp_neighbours()), len(a1.lldp_neighbours()), len(s2.lldp_neighbours())) == (3, 4, 2),
                   15, "r1, a1 and s2 hear all their neighbours", describe=lab.describe)
        return r1, a1, s2, ub, parallel, a1_s2

    r1, a1, s2, ub, parallel, a1_s2 = await run(build)
    interval = 2.0
    fast_down = parse_rule({"id": "device-down", "metric": "device.status", "op": "==", "threshold": "down",
                            "for": 4, "severity": "critical"})
    port_down = parse_rule({"id": "interface-down", "metric": "interface.status", "op": "!=", "threshold": "up",
                            "severity": "warning"})

    def polled(node, name):
        return attrs.evolve(device(node, name), poll_interval=2)

    config = Config(
        path="topology lab", snmp=SnmpSettings(timeout=0.5, retries=1),
        store=StoreSettings(path=str(tmp_path / "eyenet.db")),
        devices=(polled(r1, "r1"), polled(a1, "a1"), polled(s2, "s2")), rules=(fast_down, port_down),
        web=WebSettings(host="127.0.0.1", port=0), topology=TopologySettings(interval=interval),
    )
    async with trio.open_nursery() as nursery:
        services = await nursery.start(app.run, config)
        port = services.addresses[0][1]
        token = await login(port)
        topology = services.topology
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}") as ws:
            for ref, channel in enumerate(("topology", "alerts")):
                await ws.send_message(json.dumps({"type": "subscribe", "ref": ref, "data": {"type": channel}}))
                assert json.loads(await ws.get_message())["data"]["status"] == "subscribed"
            with trio.fail_after(40):
                while len(topology.graph.links) < 6:
                    await topology.next_cycle()

            # Unmanaged neighbours typed from their LLDP capabilities.
            assert {n.id: (n.type, n.managed) for n in topology.graph.nodes.values()} == {
                "r1": ("router", True), "a1": ("switch", True), "s2": ("switch", True),
                "nbr-ur": ("router", False), "nbr-ub": ("switch", False), "nbr-us": ("endpoint", False),
            }
            # The default root: the router, and the log says why.
            assert topology.roots() == ("r1",)
            chosen = [r.getMessage() for r in caplog.records if "default root" in r.getMessage()]
            assert chosen[-1] == (
                "topology: default root r1 (no [topology] roots configured): r1 (router, 1 monitored neighbour) "
                "before a1 (switch, 2 monitored neighbours): a router comes before a switch"
            ), chosen
            # EyeNet's gateway comes before any router: with a route of this host through a1, a1 is
            # the root; without it, r1 again.
            destination = await run(lambda: lab.route_via(a1))
            with trio.fail_after(4 * interval + 10):
                while topology.roots() != ("a1",):
                    await topology.next_cycle()
            chosen = [r.getMessage() for r in caplog.records if "default root" in r.getMessage()]
            assert chosen[-1] == (
                "topology: default root a1 (no [topology] roots configured): a1 (switch, 2 monitored neighbours, "
                "EyeNet gateway) before r1 (router, 1 monitored neighbour): it is EyeNet's gateway"
            ), chosen
            await run(lambda: lab.unroute(destination))
            with trio.fail_after(4 * interval + 10):
                while topology.roots() != ("r1",):
                    await topology.next_cycle()

            # One of two parallel links goes: the connections stay, linksRemoved names it.
            await run(lambda: lab.cut(parallel))
            gone = {"source": "a1", "sourcePort": "eth2", "target": "r1", "targetPort": "eth2"}
            event = await receive(ws, link_event("linksRemoved", gone), 4 * interval + 5, "link_change for the parallel link")
            assert event["data"]["changeType"] == "link_change" and "linksAdded" not in event["data"]
            assert {d["id"]: d["connections"] for d in event["data"]["devices"]} == {
                "a1": ["nbr-ub", "r1", "s2"], "r1": ["a1", "nbr-ur"],
            }

            # r1 (the root) and s2 stop answering: r1's alert is pushed, s2's suppressed behind it.
            await run(s2.snmpd.stop)
            await run(r1.snmpd.stop)
            root_alert = await receive(ws, lambda m: m["type"] == "alert:new", 30, "r1's device-down alert")
            assert (root_alert["data"]["deviceId"], root_alert["data"]["ruleId"]) == ("r1", "device-down")
            root_id = root_alert["data"]["alertId"]
            with trio.fail_after(20):
                while not (await api(port, "GET", "/api/alerts?deviceId=s2", token))[1]["alerts"]:
                    await trio.sleep(0.5)
            [held] = (await api(port, "GET", "/api/alerts?deviceId=s2", token))[1]["alerts"]
            assert held["suppressedBy"] == root_id
            logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"alert {held['alertId']} ")]
            assert logged and logged[0].endswith(
                f"[suppressed: reachable only through r1 (alert {root_id}), which is down: not pushed]"), logged

            # a1 still answers: its port alert is its own, pushed, and stays open while the port is down.
            await run(lambda: lldp_lab._run(["ip", "-n", ub.netns, "link", "set", "eth1", "down"]))
            port_alert = await receive(ws, lambda m: m["type"] == "alert:new" and m["data"]["deviceId"] == "a1",
                                       20, "a1's port alert")
            assert port_alert["data"]["ruleId"] == "interface-down"
            status, alert = await api(port, "GET", f"/api/alerts/{port_alert['data']['alertId']}", token)
            assert (alert["status"], alert["suppressedBy"], alert["interface"]) == ("open", None, "eth4")

            # s2 still silent, a1 <-> s2 cut: a1 no longer reports it, and the link goes.
            await run(lambda: lab.cut(a1_s2))
            gone = {"source": "a1", "sourcePort": "eth3", "target": "s2", "targetPort": "eth1"}
            await receive(ws, link_event("linksRemoved", gone), 4 * interval + 5, "the a1 <-> s2 link going")
            assert not any({x.source, x.target} == {"a1", "s2"} for x in topology.graph.links)
            status, alert = await api(port, "GET", f"/api/alerts/{port_alert['data']['alertId']}", token)
            assert alert["status"] == "open"  # never "resolved by system" while its port is down
        nursery.cancel_scope.cancel()
