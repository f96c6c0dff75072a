"""The access policy (eyenet.auth.access) from one table of cases, checked on its own, through
the push path (hub and sessions) and through the REST path (a served API over a real store,
inventory and topology graph).

The fleet: r1 (core), s1 and s2 (access), lab1 (no tags), and x9, a neighbour EyeNet does
not monitor, linked to s2.
"""

from datetime import datetime, timezone

import pytest
import trio
from restclient import api
from test_inventory import RecordingPoller
from test_push_core import RecordingSink, StubAuthority, token

from eyenet.alerts.service import AlertService
from eyenet.anomaly.service import MlService
from eyenet.auth.access import Access, fleet_wide
from eyenet.auth.model import User
from eyenet.auth.tokens import TokenAuthority
from eyenet.bus import Bus
from eyenet.config import AuthSettings, PushSettings, WebSettings
from eyenet.devices.inventory import Inventory
from eyenet.devices.model import DeviceConfig, StoredDevice
from eyenet.events import DeviceMetrics, TopologyDevice, TopologyLink, TopologyUpdate
from eyenet.snmp.client import SnmpClient
from eyenet.store.db import Store
from eyenet.topology.graph import Graph, Link, Node
from eyenet.topology.service import TopologyService
from eyenet.web.front import serve
from eyenet.web.push.hub import Hub
from eyenet.web.rest.api import RestApi

T0 = datetime(2025, 1, 3, 7, 12, 55, tzinfo=timezone.utc)
TAGS = {"r1": ("core",), "s1": ("access",), "s2": ("access", "lab"), "lab1": ()}
LINKS = (("r1", "s1"), ("s1", "s2"), ("s2", "x9"), ("r1", "lab1"))
NODES = ("r1", "s1", "s2", "lab1", "x9")

# scope -> (monitored devices it sees, topology nodes it sees)
CASES = {
    (): ({"r1", "s1", "s2", "lab1"}, set(NODES)),
    ("access",): ({"s1", "s2"}, {"s1", "s2", "x9"}),
    ("core",): ({"r1"}, {"r1"}),
    ("lab",): ({"s2"}, {"s2", "x9"}),
    ("core", "lab"): ({"r1", "s2"}, {"r1", "s2", "x9"}),
    ("nothing",): (set(), set()),
}

ACCESS = Access(TAGS.get)


@pytest.mark.parametrize("scope", CASES)
def test_policy_devices_and_topology(scope):
    devices, nodes = CASES[scope]
    assert {d for d in TAGS if ACCESS.monitored_device(scope, d)} == devices
    assert not ACCESS.monitored_device(scope, "x9")  # not monitored: no device page for anyone
    visible = ACCESS.topology(scope, NODES, LINKS)
    assert (set(NODES) if visible is None else visible) == nodes
    ids = ACCESS.device_ids(scope, TAGS)
    assert ids is None if not scope else set(ids) == devices


def test_policy_windows_and_events():
    assert ACCESS.window(("access",), ["s1"], ["access"])
    assert not ACCESS.window(("access",), ["s1", "r1"], [])
    assert not ACCESS.window(("access",), [], ["core"])
    assert ACCESS.window((), ["anything"], ["any"])
    roles = Access(TAGS.get, {"ml:prediction": "operator", "trap": "operator"})
    assert not roles.event("viewer", (), "trap", "r1") and roles.event("operator", ("core",), "trap", "r1")
    assert not roles.event("admin", ("access",), "trap", "r1")  # a device outside the scope
    assert not roles.event("viewer", (), "ml:prediction", "r1")
    assert roles.event("operator", ("core",), "ml:prediction", "r1")
    assert not roles.event("operator", ("access",), "ml:prediction", "r1")
    assert not roles.event("admin", ("core",), "alert:update", None)  # cannot be cut to a scope
    assert roles.event("viewer", (), "alert:update", None)


def topology_event():
    connections = {n: [] for n in NODES}
    for a, b in LINKS:
        connections[a].append(b)
        connections[b].append(a)
    kinds = {"r1": "router", "x9": "endpoint"}
    return TopologyUpdate(
        "link_change", [TopologyDevice(n, kinds.get(n, "switch"), connections[n]) for n in NODES], T0,
        links_added=[TopologyLink(*sorted((a, b)), "p1", "p2") for a, b in LINKS],
    )


@pytest.mark.parametrize("scope", CASES)
async def test_push_path(scope):
    devices, nodes = CASES[scope]
    hub = Hub(Bus(), StubAuthority(), TAGS.get, PushSettings())
    sink = RecordingSink()
    session = hub.open_session(hub.authenticate(token(scope=",".join(scope))), sink)
    subscribed = {d for d in TAGS if session.handle("subscribe", {"type": "device", "id": d}, 0.0)["status"] == "subscribed"}
    assert subscribed == devices
    for d in list(subscribed):
        session.handle("unsubscribe", {"type": "device", "id": d}, 0.0)
    session.handle("subscribe", {"type": "devices"}, 0.0)
    session.handle("subscribe", {"type": "topology"}, 0.0)
    for d in TAGS:
        hub.publish(DeviceMetrics(d, T0, cpu=1.0, memory=2.0, bandwidth_in=1.0, bandwidth_out=1.0))
    hub.publish(topology_event())
    assert {env["data"]["deviceId"] for t, env in sink.sent if t == "device:metrics"} == devices
    topo = [env["data"]["devices"] for t, env in sink.sent if t == "topology:update"]
    assert {d["id"] for d in topo[0]} == nodes if nodes else topo == []
    for device in topo[0] if topo else ():
        assert set(device["connections"]) <= nodes
    links = [env["data"].get("linksAdded", []) for t, env in sink.sent if t == "topology:update"]
    for link in links[0] if links else ():  # links between visible nodes only, as connections
        assert {link["source"], link["target"]} <= nodes
    if links:
        assert len(links[0]) == sum(len(d["connections"]) for d in topo[0]) // 2


async def test_rest_path(tmp_path):
    authority = TokenAuthority.from_settings(AuthSettings(secret_file=str(tmp_path / "jwt.secret")))
    async with Store.open(tmp_path / "eyenet.db") as store, SnmpClient.open() as client:
        for device_id, tags in TAGS.items():
            await store.upsert_device(StoredDevice(DeviceConfig(device_id, "192.0.2.1", tags=tags)))
        bus = Bus()
        inventory = Inventory(store, bus, RecordingPoller())
        await inventory.load()
        alerts = AlertService(store, bus, inventory.device_tags)
        await alerts.load()
        topology = TopologyService(client, inventory, lambda device: None, store, bus)
        kinds = {"r1": "router", "x9": "endpoint"}
        topology.graph = Graph(
            {n: Node(n, kinds.get(n, "switch"), n, n != "x9") for n in NODES},
            frozenset(Link(*sorted((a, b)), None, None, "lldp") for a, b in LINKS),
        )
        rest = RestApi(inventory, store, alerts, topology, MlService(store, bus), authority)
        async with trio.open_nursery() as nursery:
            [(_, port)] = await nursery.start(serve, rest, WebSettings(host="127.0.0.1", port=0))
            for n, scope in enumerate(CASES):
                devices, nodes = CASES[scope]
                user = User(f"u-{n:016x}", f"user{n}", "viewer", scope)
                await store.add_user(user)
                tok = authority.issue(user).token
                status, listed = await api(port, "GET", "/api/devices", tok)
                assert {d["id"] for d in listed["devices"]} == devices, scope
                for device_id in TAGS:
                    status, _ = await api(port, "GET", f"/api/devices/{device_id}", tok)
                    assert status == (200 if device_id in devices else 404), (scope, device_id)
                status, graph = await api(port, "GET", "/api/topology", tok)
                assert {node["id"] for node in graph["nodes"]} == nodes, scope
                assert all({link["source"], link["target"]} <= nodes for link in graph["links"])
            nursery.cancel_scope.cancel()


def test_fleet_wide_objects_are_for_unscoped_principals_only():
    """Rules, users and settings hold for every device: a scope, any scope, may not change them."""
    assert fleet_wide(())
    for scope in CASES:
        assert fleet_wide(scope) is (not scope)


def test_standing_of_tokens():
    from eyenet.auth.standing import Standing

    standing = Standing()
    assert standing.refusal("u-1", 0) is not None  # never loaded: nobody stands
    assert standing.load(1, {"u-1": 0, "u-2": 3}) == frozenset()
    assert standing.refusal("u-1", 0) is None and standing.refusal("u-2", 3) is None
    assert "revoked" in standing.refusal("u-2", 2)
    assert standing.load(2, {"u-2": 4}) == {"u-1", "u-2"}  # u-1 deleted, u-2 revoked
    assert "does not exist" in standing.refusal("u-1", 0) and standing.version == 2
