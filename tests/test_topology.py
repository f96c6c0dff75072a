"""The topology graph (sans-io): matching, merging both ends of a link, device types, diffs, DOT."""

from datetime import datetime, timezone

from eyenet.topology.graph import Graph, Link, Node, build_graph, cut_off, default_roots, device_type, diff, dot, port_key
from eyenet.topology.neighbours import DeviceNeighbours, LocalIdentity, Neighbour

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)


def local(name, chassis=None, caps=(), *, services=None, forwarding=None, bridge=None, addresses=()):
    return LocalIdentity(
        chassis_id=chassis, sys_name=name, capabilities=frozenset(caps), sys_services=services,
        ip_forwarding=forwarding, bridge=bridge, addresses=tuple(addresses), base_mac=None,
    )


def nbr(port, *, name=None, chassis=None, remote_port=None, desc=None, caps=(), addresses=(), protocol="lldp"):
    return Neighbour(
        protocol=protocol, local_if_index=None, local_port=port, remote_chassis_id=chassis, remote_chassis_subtype=4,
        remote_port=remote_port, remote_port_description=desc, remote_name=name, remote_description=None,
        remote_capabilities=frozenset(caps), remote_addresses=tuple(addresses),
    )


def report(identity, *neighbours):
    return DeviceNeighbours(identity, tuple(neighbours))


# core (router) -- dist (switch, L3) -- acc (switch); acc also hears a phone nobody monitors.
CORE = report(local("core.example.net", "00:00:00:00:00:01", ("router",)),
              nbr("Gi0/1", chassis="00:00:00:00:00:02", name="dist", remote_port="Ethernet1"))
DIST = report(local("dist", "00:00:00:00:00:02", ("bridge", "router")),
              nbr("Ethernet1", chassis="00:00:00:00:00:01", name="core.example.net", remote_port="GigabitEthernet0/1"),
              nbr("Ethernet2", name="acc", remote_port="TenGigabitEthernet1/1/1"))
ACC = report(local("acc", "00:00:00:00:00:03", (), bridge=True),
             nbr("Te1/1/1", chassis="00:00:00:00:00:02", remote_port="00:00:00:00:00:22", desc="Ethernet2"),
             nbr("Gi1/0/5", chassis="aa:bb:cc:dd:ee:ff", name="SEP001122334455", remote_port="Port 1", caps=("telephone",)))
HOSTS = {"core-rtr": "10.0.0.1", "dist-sw": "10.0.0.2", "acc-sw": "10.0.0.3"}


def lab(**changes):
    reports = {"core-rtr": CORE, "dist-sw": DIST, "acc-sw": ACC}
    reports.update(changes)
    return build_graph(reports, HOSTS)


def test_both_ends_of_a_link_make_one_link_named_by_each_end():
    graph = lab()
    assert graph.nodes["core-rtr"] == Node("core-rtr", "router", "core.example.net", True)
    assert graph.nodes["dist-sw"].type == "switch"  # bridge and router: a multilayer switch
    assert graph.nodes["acc-sw"].type == "switch"  # no LLDP capabilities: BRIDGE-MIB says
    phone = graph.nodes["nbr-sep001122334455"]
    assert (phone.type, phone.managed, phone.name) == ("endpoint", False, "SEP001122334455")
    assert graph.links == frozenset({
        Link("core-rtr", "dist-sw", "Gi0/1", "Ethernet1", "lldp"),
        Link("acc-sw", "dist-sw", "Te1/1/1", "Ethernet2", "lldp"),  # matched by name one way, chassis the other
        Link("acc-sw", "nbr-sep001122334455", "Gi1/0/5", "Port 1", "lldp"),
    })
    assert graph.connections()["dist-sw"] == ("acc-sw", "core-rtr")


def test_a_link_seen_from_one_end_only_uses_the_remote_port_id():
    graph = lab(**{"core-rtr": report(CORE.local)})
    assert Link("core-rtr", "dist-sw", "GigabitEthernet0/1", "Ethernet1", "lldp") in graph.links


def test_matching_by_management_address_and_cdp_device_ids():
    cdp = report(local("edge", None, ()), nbr("Gi0/2", name="acc(FOC1234X0AB)", remote_port="Te1/1/2", protocol="cdp"),
                 nbr("Gi0/3", name="unknown", addresses=("10.0.0.1",), remote_port="Gi0/9", protocol="cdp"))
    graph = build_graph({"edge": cdp, "acc-sw": ACC, "core-rtr": None}, {**HOSTS, "edge": "10.0.0.9"})
    assert {(x.source, x.target) for x in graph.links} >= {("acc-sw", "edge"), ("core-rtr", "edge")}
    assert graph.nodes["core-rtr"].type == "endpoint"  # never read, nothing said of it


def test_port_names_match_across_abbreviations():
    assert port_key("TenGigabitEthernet1/1/1") == port_key("Te1/1/1")
    assert port_key("Ethernet2") == port_key("Et2") != port_key("Ethernet3")
    assert port_key("xe-0/1/0") == ("xe", "-0/1/0")


def test_device_type_precedence():
    assert device_type(report(local("x", caps=("station",)))) == "endpoint"
    assert device_type(report(local("x")), [frozenset({"router"})]) == "router"  # neighbours' word
    assert device_type(report(local("x", bridge=True, forwarding=True))) == "switch"
    assert device_type(report(local("x", forwarding=True))) == "router"
    assert device_type(report(local("x", services=0x02))) == "switch"
    assert device_type(report(local("x", services=0x4E))) == "router"
    assert device_type(report(local("x", services=0x48))) == "endpoint"  # a host: applications and end-to-end
    assert device_type(None) == "endpoint"


def test_diffs_are_the_seed_events():
    before = lab()
    # The acc <-> dist link is cut (both ends stop reporting it), a new switch appears behind acc.
    cut_acc = report(ACC.local, ACC.neighbours[1], nbr("Gi1/0/48", chassis="00:00:00:00:00:04", remote_port="Gi0/1"))
    cut_dist = report(DIST.local, DIST.neighbours[0])
    new = report(local("acc2", "00:00:00:00:00:04", ("bridge",)), nbr("Gi0/1", chassis="00:00:00:00:00:03", remote_port="Gi1/0/48"))
    after = build_graph({"core-rtr": CORE, "dist-sw": cut_dist, "acc-sw": cut_acc, "acc-sw2": new}, {**HOSTS, "acc-sw2": "10.0.0.4"})
    events = diff(before, after, NOW)
    assert [e.change_type for e in events] == ["device_added", "link_change"]
    assert events[0].data()["devices"] == [{"id": "acc-sw2", "type": "switch", "connections": ["acc-sw"]}]
    assert events[1].data()["devices"] == [
        {"id": "acc-sw", "type": "switch", "connections": ["acc-sw2", "nbr-sep001122334455"]},
        {"id": "dist-sw", "type": "switch", "connections": ["core-rtr"]},
    ]
    gone = diff(after, build_graph({"core-rtr": CORE, "dist-sw": cut_dist}, HOSTS), NOW)
    assert [e.change_type for e in gone] == ["device_removed"]  # nobody left had a link to them
    assert {d.id for d in gone[0].devices} == {"acc-sw", "acc-sw2", "nbr-sep001122334455"}
    assert diff(after, after, NOW) == []


def test_a_link_moving_to_another_port_is_a_link_change():
    moved = report(CORE.local, nbr("Gi0/2", chassis="00:00:00:00:00:02", remote_port="Ethernet1"))
    events = diff(lab(), lab(**{"core-rtr": moved}), NOW)
    assert [(e.change_type, [d.id for d in e.devices]) for e in events] == [("link_change", ["core-rtr", "dist-sw"])]


def test_json_round_trip_and_dot():
    graph = lab()
    assert Graph.from_json(graph.to_json()) == graph
    text = dot(graph)
    assert text.startswith("graph eyenet {") and '"acc-sw" -- "dist-sw" [label="Te1/1/1 - Ethernet2"];' in text
    assert '"nbr-sep001122334455" [label="SEP001122334455", shape=ellipse, style=dashed];' in text
    assert '"core-rtr" [label="core.example.net", shape=box];' in text


def test_cut_off_finds_what_lies_behind_a_down_device():
    graph = lab()  # core-rtr -- dist-sw -- acc-sw -- phone
    assert default_roots(graph) == ("dist-sw",)  # two monitored neighbours
    assert default_roots(lab(**{"acc-sw": None})) == ("core-rtr",)  # one each: the router
    roots = ("core-rtr",)
    assert cut_off(graph, roots, ()) == {}
    assert cut_off(graph, roots, {"dist-sw"}) == {"acc-sw": "dist-sw", "nbr-sep001122334455": "dist-sw"}
    # A failure behind another: the first on the way from the roots is the cause of both.
    assert cut_off(graph, roots, {"dist-sw", "acc-sw"}) == {"acc-sw": "dist-sw", "nbr-sep001122334455": "dist-sw"}
    assert cut_off(graph, roots, {"core-rtr"}) == {"dist-sw": "core-rtr", "acc-sw": "core-rtr", "nbr-sep001122334455": "core-rtr"}
    # A second way round the failure: nothing is cut off.
    ring = Graph(graph.nodes, graph.links | {Link("acc-sw", "core-rtr", "Gi1/0/1", "Gi0/2", "lldp")})
    assert cut_off(ring, roots, {"dist-sw"}) == {}
