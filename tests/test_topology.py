"""The topology graph (sans-io): matching, merging both ends of a link, device types, diffs, DOT."""

from datetime import datetime, timezone

from eyenet.events import TopologyLink
from eyenet.topology.graph import (
    Graph,
    Link,
    Node,
    RootChoice,
    build_graph,
    cut_off,
    default_root,
    device_type,
    diff,
    dot,
    port_key,
)
from eyenet.topology.neighbours import DeviceNeighbours, LocalIdentity, Neighbour, cdp_capabilities
from eyenet.topology.routes import gateways

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
    roots = ("core-rtr",)
    assert cut_off(graph, roots, ()) == {}
    assert cut_off(graph, roots, {"dist-sw"}) == {"acc-sw": "dist-sw", "nbr-sep001122334455": "dist-sw"}
    # A failure behind another: the first on the way from the roots is the cause of both.
    assert cut_off(graph, roots, {"dist-sw", "acc-sw"}) == {"acc-sw": "dist-sw", "nbr-sep001122334455": "dist-sw"}
    assert cut_off(graph, roots, {"core-rtr"}) == {"dist-sw": "core-rtr", "acc-sw": "core-rtr", "nbr-sep001122334455": "core-rtr"}
    # A second way round the failure: nothing is cut off.
    ring = Graph(graph.nodes, graph.links | {Link("acc-sw", "core-rtr", "Gi1/0/1", "Gi0/2", "lldp")})
    assert cut_off(ring, roots, {"dist-sw"}) == {}


def test_default_root_is_the_router_nearest_eyenet_and_says_why():
    graph = lab()  # core-rtr -- dist-sw (two monitored neighbours, and first by name) -- acc-sw
    assert default_root(graph) == RootChoice(
        "core-rtr", "core-rtr (router, 1 monitored neighbour) before dist-sw (switch, 2 monitored neighbours): "
        "a router comes before a switch")
    assert default_root(graph, {"acc-sw"}).reason == (
        "acc-sw (switch, 1 monitored neighbour, EyeNet gateway) before core-rtr (router, 1 monitored neighbour): "
        "it is EyeNet's gateway")
    two = build_graph({"dist-sw": DIST, "acc-sw": ACC}, HOSTS)
    assert default_root(two).reason.endswith("its id comes first")
    assert default_root(Graph()) is None


def test_eyenet_gateways_from_the_kernel_routing_tables():
    route = (
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "bad line\n"
    )
    ipv6 = (
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001"
        " 00000400 00000001 00000000 00000003 eth0\n"
        "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000"
        " 00000100 00000001 00000000 00000001 eth0\n"
    )
    assert gateways(route, ipv6) == {"192.0.2.1", "fe80::1"}
    assert gateways() == frozenset()


def test_unmanaged_neighbours_are_typed_by_what_they_advertise():
    edge = report(local("edge", "00:00:00:00:00:09", ("router",)),
                  nbr("p1", chassis="aa:00:00:00:00:01", name="lab-bridge", remote_port="e1", caps=("bridge",)),
                  nbr("p2", chassis="aa:00:00:00:00:02", name="lab-router", remote_port="e1", caps=("router",)),
                  nbr("p3", chassis="aa:00:00:00:00:03", name="lab-ap", remote_port="e1", caps=("wlan-ap",)),
                  nbr("p4", chassis="aa:00:00:00:00:04", name="lab-pc", remote_port="e1"),
                  nbr("p5", name="cdp-switch", remote_port="Gi0/1", caps=("bridge", "station"), protocol="cdp"),
                  nbr("p7", name="cdp-ap", remote_port="Gi0", caps=cdp_capabilities(0x26), protocol="cdp"),
                  nbr("p6", name="cdp-phone", remote_port="Port 1", caps=("telephone", "bridge"), protocol="cdp"))
    graph = build_graph({"edge": edge}, {"edge": "10.0.0.9"})
    assert {n.id: n.type for n in graph.nodes.values() if not n.managed} == {
        "nbr-lab-bridge": "switch", "nbr-lab-router": "router", "nbr-lab-ap": "endpoint", "nbr-lab-pc": "endpoint",
        "nbr-cdp-switch": "switch", "nbr-cdp-phone": "endpoint", "nbr-cdp-ap": "endpoint",  # a phone's built-in switch is no switch
    }


def test_a_stale_report_keeps_no_link_its_live_peer_no_longer_reports():
    cut_dist = report(DIST.local, DIST.neighbours[0])  # dist answers and no longer hears acc
    assert {(x.source, x.target) for x in build_graph({"core-rtr": CORE, "dist-sw": cut_dist, "acc-sw": ACC}, HOSTS).links} \
        >= {("acc-sw", "dist-sw")}  # acc fresh too: its word still counts (one end is enough)
    graph = build_graph({"core-rtr": CORE, "dist-sw": cut_dist, "acc-sw": ACC}, HOSTS, stale={"acc-sw"})
    assert {(x.source, x.target) for x in graph.links} == {("core-rtr", "dist-sw"), ("acc-sw", "nbr-sep001122334455")}
    # Still reported by the live end: kept. A partial live report or a stale peer: the stale word stands.
    assert Link("acc-sw", "dist-sw", "Te1/1/1", "Ethernet2", "lldp") in build_graph(
        {"core-rtr": CORE, "dist-sw": DIST, "acc-sw": ACC}, HOSTS, stale={"acc-sw"}).links
    partial = DeviceNeighbours(cut_dist.local, cut_dist.neighbours, problems=("lldpRemTable: timeout",))
    for reports, stale in (({"dist-sw": partial, "acc-sw": ACC}, {"acc-sw"}), ({"dist-sw": cut_dist, "acc-sw": ACC}, {"acc-sw", "dist-sw"})):
        assert ("acc-sw", "dist-sw") in {(x.source, x.target) for x in build_graph(reports, HOSTS, stale=stale).links}


def test_a_stale_end_keeps_only_the_parallel_links_its_live_peer_confirms():
    a = report(local("a", "00:00:00:00:00:0a", ("bridge",)),
               nbr("e1", chassis="00:00:00:00:00:0b", remote_port="e1"), nbr("e2", chassis="00:00:00:00:00:0b", remote_port="e2"))
    b_both = report(local("b", "00:00:00:00:00:0b", ("bridge",)),
                    nbr("e1", chassis="00:00:00:00:00:0a", remote_port="e1"), nbr("e2", chassis="00:00:00:00:00:0a", remote_port="e2"))
    b_one = report(b_both.local, b_both.neighbours[1])
    hosts = {"a": "10.0.0.10", "b": "10.0.0.11"}
    assert {x.source_port for x in build_graph({"a": a, "b": b_one}, hosts, stale={"a"}).links} == {"e2"}
    before = build_graph({"a": a, "b": b_both}, hosts)
    events = diff(before, build_graph({"a": a, "b": b_one}, hosts, stale={"a"}), NOW)
    [change] = events
    assert change.change_type == "link_change" and [d.connections for d in change.devices] == [("b",), ("a",)]
    assert change.links_removed == (TopologyLink("a", "b", "e1", "e1"),) and change.links_added == ()
    assert change.data()["linksRemoved"] == [{"source": "a", "sourcePort": "e1", "target": "b", "targetPort": "e1"}]
    assert "linksAdded" not in change.data()


def test_a_dns_domain_is_cut_from_neighbour_names_other_dots_are_kept():
    """"acc-sw.example.net" is the monitored acc-sw; "cdc.d1.8k" and "cdc.s1.8k" (a naming
    scheme with dots, not a domain) are two neighbours, not one "cdc"."""
    graph = build_graph({
        "core": report(local("core", "00:00:00:00:00:0a"), nbr("1/1", name="acc-sw.example.net"),
                       nbr("1/2", name="cdc.d1.8k"), nbr("1/3", name="cdc.s1.8k"), nbr("1/4", name="ap7.corp.local")),
        "acc-sw": report(local("acc-sw", "00:00:00:00:00:0b")),
    }, {"core": "10.0.0.10", "acc-sw": "10.0.0.11"})
    assert {x.source for x in graph.links} | {x.target for x in graph.links} == {
        "core", "acc-sw", "nbr-cdc.d1.8k", "nbr-cdc.s1.8k", "nbr-ap7"}
