"""The topology graph, sans-io: neighbour tables in, nodes, links and diffs out.

Each discovery cycle gives, per monitored device, what it reports about itself and
its LLDP/CDP neighbours (neighbours.py). :func:`build_graph` matches every neighbour
to a monitored device (by chassis id, then system name, then management address)
or makes it an unmanaged endpoint, merges the two ends' reports of one link, and
types each node. :func:`diff` turns two graphs into the seed's topology:update
events: device_added, device_removed, link_change.

Device type, first rule that decides (docs/topology.md):
1. the device's own LLDP capabilities (enabled): telephone or wlan-ap without router ->
   endpoint (a phone or an access point, whose bridge is not a switch), bridge -> switch
   (a multilayer switch is a switch), router -> router, only station -> endpoint;
2. what its neighbours report of it (their LLDP remote capabilities, CDP
   capabilities), read the same way;
3. BRIDGE-MIB (a bridge with ports) -> switch; IP-MIB ipForwarding = forwarding -> router;
4. sysServices: layer 2 without layer 3 -> switch, layer 3 -> router;
5. otherwise endpoint.
Unmanaged neighbours (not matched to a monitored device) are typed by rule 2 alone (what
they advertise: a bridge is a switch), else endpoints.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from eyenet.events import TopologyDevice, TopologyLink, TopologyUpdate
from eyenet.topology.neighbours import DeviceNeighbours, Neighbour

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")
_PORT = re.compile(r"^([A-Za-z]+)[ ]*(.*)$")


@attrs.frozen
class Node:
    id: str
    type: str  # router | switch | endpoint
    name: str
    managed: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "name": self.name, "managed": self.managed}


@attrs.frozen
class Link:
    """One physical link; source < target (by id), so each link has one spelling."""

    source: str
    target: str
    source_port: str | None
    target_port: str | None
    protocol: str  # lldp | cdp | cdp+lldp (both ends, or one end over both)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "target": self.target, "sourcePort": self.source_port,
            "targetPort": self.target_port, "protocol": self.protocol,
        }


@attrs.frozen
class Graph:
    nodes: Mapping[str, Node] = attrs.field(factory=dict)
    links: frozenset[Link] = frozenset()

    def connections(self) -> dict[str, tuple[str, ...]]:
        """Node id -> the ids it has a link with (sorted)."""
        out: dict[str, set[str]] = {n: set() for n in self.nodes}
        for link in self.links:
            out.setdefault(link.source, set()).add(link.target)
            out.setdefault(link.target, set()).add(link.source)
        return {n: tuple(sorted(c)) for n, c in out.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [n.to_json() for n in sorted(self.nodes.values(), key=_node_order)],
            "links": [link.to_json() for link in sorted(self.links, key=_link_order)],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Graph:
        nodes = {n["id"]: Node(n["id"], n["type"], n["name"], n["managed"]) for n in data["nodes"]}
        links = frozenset(
            Link(x["source"], x["target"], x["sourcePort"], x["targetPort"], x["protocol"]) for x in data["links"]
        )
        return cls(nodes, links)


def _node_order(node: Node) -> tuple[str, str, str]:
    return (node.id, node.type, node.name or "")


def _link_order(link: Link) -> tuple[str, str, str, str, str]:
    """Links in a stable order; a port may be unknown (None), which sorts first."""
    return (link.source, link.target, link.source_port or "", link.target_port or "", link.protocol)


def type_from_capabilities(capabilities: Iterable[str]) -> str | None:
    caps = set(capabilities)
    if caps & {"telephone", "wlan-ap"} and "router" not in caps:
        return "endpoint"  # a phone's PC port or an access point's radios are bridges, not a switch
    if "bridge" in caps:
        return "switch"
    if "router" in caps:
        return "router"
    if caps & {"station", "telephone", "wlan-ap"}:
        return "endpoint"
    return None


def device_type(report: DeviceNeighbours | None, reported: Iterable[frozenset[str]] = ()) -> str:
    """The type of a monitored device from its own report and what its neighbours say of it."""
    local = report.local if report is not None else None
    if local is not None and (kind := type_from_capabilities(local.capabilities)):
        return kind
    for caps in reported:
        if kind := type_from_capabilities(caps):
            return kind
    if local is None:
        return "endpoint"
    if local.bridge:
        return "switch"
    if local.ip_forwarding:
        return "router"
    services = local.sys_services or 0
    if services & 0x02 and not services & 0x04:
        return "switch"
    if services & 0x04:
        return "router"
    return "endpoint"


_TLD = re.compile(r"[a-z]{2,63}")


def _name_key(name: str | None) -> str | None:
    """sysName as neighbours spell it: case-insensitive, without a domain or CDP's serial suffix."""
    if not name:
        return None
    name = name.strip().lower()
    name = re.sub(r"\([^)]*\)$", "", name)  # CDP device ids like "sw1(FOC1234X0AB)"
    host, dot, domain = name.partition(".")
    # Only a DNS domain goes (its last label is a top-level domain: letters only). Dots in
    # names of other shapes ("cdc.d1.8k", "cdc.s1.8k") are part of the name: cutting there
    # would make distinct neighbours one node.
    if dot and _TLD.fullmatch(domain.rpartition(".")[2]):
        return host or None
    return name or None


def port_key(name: str | None) -> tuple[str, str] | None:
    """Interface names as either end spells them: TenGigabitEthernet1/1/1 ~ Te1/1/1, Ethernet2 ~ Et2."""
    if not name:
        return None
    m = _PORT.match(name.strip())
    if m is None:
        return ("", name.strip().lower())
    return (m.group(1)[:2].lower(), m.group(2).strip().lower())


def _remote_port(n: Neighbour) -> str | None:
    """The neighbour's port by name: its port id unless that is a MAC address, then its description."""
    if n.remote_port and not MAC.match(n.remote_port):
        return n.remote_port
    return n.remote_port_description or n.remote_port


def endpoint_id(n: Neighbour) -> str:
    """A stable, URL-safe id for a neighbour nobody monitors: its name, else its chassis id."""
    basis = _name_key(n.remote_name) or n.remote_chassis_id or (n.remote_addresses[0] if n.remote_addresses else None)
    if basis is None:
        basis = f"{n.protocol}-{_remote_port(n) or 'unknown'}"
    return "nbr-" + _SLUG.sub("-", basis).strip("-").lower()[:60]


class _Index:
    """Monitored devices by chassis id, system name and address."""

    def __init__(self, reports: Mapping[str, DeviceNeighbours | None], hosts: Mapping[str, str]) -> None:
        self.chassis: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.addresses: dict[str, str] = {}
        for device_id, host in hosts.items():
            self.addresses.setdefault(host, device_id)
            self.names.setdefault(device_id.lower(), device_id)
        for device_id, report in reports.items():
            if report is None:
                continue
            local = report.local
            for chassis in (local.chassis_id, local.base_mac):
                if chassis:
                    self.chassis.setdefault(chassis.lower(), device_id)
            if key := _name_key(local.sys_name):
                self.names[key] = device_id
            for address in local.addresses:
                self.addresses.setdefault(address, device_id)

    def match(self, n: Neighbour) -> str | None:
        if n.remote_chassis_id and (found := self.chassis.get(n.remote_chassis_id.lower())):
            return found
        if (key := _name_key(n.remote_name)) and (found := self.names.get(key)):
            return found
        for address in n.remote_addresses:
            if found := self.addresses.get(address):
                return found
        return None


@attrs.frozen
class _Seen:
    """One end's report of a link: `device` sees `peer` on its port `port`, the peer's port `peer_port`."""

    device: str
    port: str | None
    peer: str
    peer_port: str | None
    protocol: str


def build_graph(
    reports: Mapping[str, DeviceNeighbours | None], hosts: Mapping[str, str], names: Mapping[str, str] | None = None,
    *, stale: Collection[str] = (),
) -> Graph:
    """reports: monitored device id -> its neighbour report (None: never read);
    hosts: monitored device id -> configured address; names: id -> display name;
    stale: devices whose report is an earlier cycle's (they did not answer this one)."""
    index = _Index(reports, hosts)
    nodes: dict[str, Node] = {}
    reported_caps: dict[str, list[frozenset[str]]] = defaultdict(list)
    seen: list[_Seen] = []
    for device_id, report in reports.items():
        for n in report.neighbours if report is not None else ():
            peer = index.match(n)
            if peer == device_id:
                continue  # a device hearing itself (a loop, or a shared chassis id)
            if peer is None:
                peer = endpoint_id(n)
                if peer not in nodes:
                    nodes[peer] = Node(peer, "endpoint", n.remote_name or n.remote_chassis_id or peer, False)
            reported_caps[peer].append(n.remote_capabilities)
            seen.append(_Seen(device_id, n.local_port or None, peer, _remote_port(n), n.protocol))
    for peer, node in nodes.items():  # unmanaged: what they advertise is all there is to know
        nodes[peer] = attrs.evolve(node, type=device_type(None, reported_caps[peer]))
    for device_id, report in reports.items():
        name = (names or {}).get(device_id) or (report.local.sys_name if report is not None and report.local.sys_name else device_id)
        nodes[device_id] = Node(device_id, device_type(report, reported_caps.get(device_id, ())), name, True)
    if stale:
        seen = _unconfirmed_dropped(seen, reports, set(stale))
    return Graph(nodes, frozenset(_merge_links(seen)))


def _speaks(report: DeviceNeighbours | None, protocol: str) -> bool:
    """A complete, fresh report that would list a link over this protocol if it were there:
    LLDP running (a local chassis id), or CDP neighbours listed (CDP has no local identity)."""
    if report is None or report.problems:
        return False
    if protocol == "lldp":
        return report.local.chassis_id is not None
    return any(n.protocol == protocol for n in report.neighbours)


def _unconfirmed_dropped(seen: list[_Seen], reports: Mapping[str, DeviceNeighbours | None], stale: set[str]) -> list[_Seen]:
    """A stale report (its device stopped answering) keeps showing the links it had: a link
    goes when its other end answered, speaks the protocol and no longer reports it. So a
    stale end keeps at most as many links to a fresh peer as that peer still reports back,
    those whose ports the peer confirms first."""
    back: dict[tuple[str, str, str], list[_Seen]] = defaultdict(list)  # (device, peer, protocol)
    for s in seen:
        back[(s.device, s.peer, s.protocol)].append(s)
    kept, claims = [], defaultdict(list)
    for s in seen:
        peer_report = reports.get(s.peer)
        if s.device in stale and s.peer in reports and s.peer not in stale and _speaks(peer_report, s.protocol):
            claims[(s.device, s.peer, s.protocol)].append(s)
        else:
            kept.append(s)
    for (device, peer, protocol), stale_seen in claims.items():
        confirming = back.get((peer, device, protocol), [])
        by_port = [s for s in stale_seen if any(_same(s.peer_port, t.port) or _same(t.peer_port, s.port) for t in confirming)]
        rest = [s for s in stale_seen if s not in by_port]
        kept.extend((by_port + rest)[:len(confirming)])
    return kept


def checked_graph(
    reports: Mapping[str, DeviceNeighbours | None], hosts: Mapping[str, str], *, stale: Collection[str] = ()
) -> Graph:
    """build_graph, and its JSON made once: what fails there fails here, before it is stored."""
    graph = build_graph(reports, hosts, stale=stale)
    graph.to_json()
    return graph


def _merge_links(seen: list[_Seen]) -> list[Link]:
    """Both ends' reports of one link become one link; each end names its own port."""
    by_pair: dict[tuple[str, str], list[_Seen]] = defaultdict(list)
    for s in seen:
        by_pair[(s.device, s.peer) if s.device <= s.peer else (s.peer, s.device)].append(s)
    links = []
    for (a, b), reports in by_pair.items():
        from_a = [s for s in reports if s.device == a]
        from_b = [s for s in reports if s.device == b]
        used_b: set[int] = set()
        for s in from_a:
            match = None
            for i, t in enumerate(from_b):
                if i in used_b:
                    continue
                if _same(s.peer_port, t.port) or _same(t.peer_port, s.port) or (len(from_a) == len(from_b) == 1):
                    match = i
                    break
            if match is None:
                links.append(_link(a, s.port, b, s.peer_port, s.protocol))
                continue
            used_b.add(match)
            t = from_b[match]
            protocol = s.protocol if s.protocol == t.protocol else "+".join(sorted({s.protocol, t.protocol}))
            links.append(_link(a, s.port, b, t.port or s.peer_port, protocol))
        for i, t in enumerate(from_b):
            if i not in used_b:
                links.append(_link(b, t.port, a, t.peer_port, t.protocol))
    # The same link over LLDP and CDP from one end: keep one.
    unique: dict[tuple[str, tuple[str, str] | None, str, tuple[str, str] | None], Link] = {}
    for link in links:
        key = (link.source, port_key(link.source_port), link.target, port_key(link.target_port))
        if key in unique:
            known = unique[key]
            if link.protocol not in known.protocol:
                unique[key] = attrs.evolve(known, protocol="+".join(sorted({*known.protocol.split("+"), link.protocol})))
        else:
            unique[key] = link
    return list(unique.values())


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and port_key(a) == port_key(b)


def _link(a: str, a_port: str | None, b: str, b_port: str | None, protocol: str) -> Link:
    if a <= b:
        return Link(a, b, a_port, b_port, protocol)
    return Link(b, a, b_port, a_port, protocol)


def diff(old: Graph, new: Graph, now: datetime) -> list[TopologyUpdate]:
    """The seed's events from one graph to the next: device_added (with their connections),
    link_change (devices already there whose connections changed), device_removed."""
    before, after = old.connections(), new.connections()
    events = []
    added = sorted(set(new.nodes) - set(old.nodes))
    removed = sorted(set(old.nodes) - set(new.nodes))
    if added:
        events.append(TopologyUpdate("device_added", [_device(new, d, after) for d in added], now))
    changed = sorted(d for d in set(new.nodes) & set(old.nodes) if before[d] != after[d] or _ports(old, d) != _ports(new, d))
    if changed:
        ends = set(changed)
        old_links, new_links = _ports_of(old.links, ends), _ports_of(new.links, ends)
        events.append(TopologyUpdate(
            "link_change", [_device(new, d, after) for d in changed], now,
            links_added=[_event_link(k) for k in sorted(new_links - old_links, key=_port_order)],
            links_removed=[_event_link(k) for k in sorted(old_links - new_links, key=_port_order)],
        ))
    if removed:
        events.append(TopologyUpdate("device_removed", [_device(old, d, {}) for d in removed], now))
    return events


_Ports = tuple[str, str | None, str, str | None]  # (source, its port, target, its port)


def _ports(graph: Graph, device: str) -> set[_Ports]:
    """A device's links with their ports: a link moved to another port is a link change too."""
    return _ports_of(graph.links, {device})


def _ports_of(links: Iterable[Link], devices: Collection[str]) -> set[_Ports]:
    return {
        (link.source, link.source_port, link.target, link.target_port)
        for link in links if link.source in devices or link.target in devices
    }


def _port_order(link: _Ports) -> tuple[str, str, str, str]:
    return (link[0], link[1] or "", link[2], link[3] or "")


def _event_link(link: _Ports) -> TopologyLink:
    return TopologyLink(link[0], link[2], link[1] or None, link[3] or None)


def _device(graph: Graph, device: str, connections: Mapping[str, tuple[str, ...]]) -> TopologyDevice:
    return TopologyDevice(device, graph.nodes[device].type, connections.get(device, ()))


def dot(graph: Graph) -> str:
    """Graphviz DOT: routers as boxes, switches as rounded boxes, endpoints as ellipses,
    unmanaged nodes dashed; links labelled with their ports."""
    shapes = {"router": 'shape=box', "switch": 'shape=box, style="rounded"', "endpoint": "shape=ellipse"}
    lines = ["graph eyenet {", "  node [fontname=Helvetica];"]
    for node in sorted(graph.nodes.values(), key=_node_order):
        style = shapes[node.type]
        if not node.managed:
            style = style.replace('style="rounded"', 'style="rounded,dashed"') if "style" in style else style + ", style=dashed"
        lines.append(f"  {_quote(node.id)} [label={_quote(node.name)}, {style}];")
    for link in sorted(graph.links, key=_link_order):
        label = f"{link.source_port or '?'} - {link.target_port or '?'}"
        lines.append(f"  {_quote(link.source)} -- {_quote(link.target)} [label={_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@attrs.frozen
class RootChoice:
    """The default root, and why: the rule that set it before the runner-up."""

    device: str
    reason: str


_TYPE_ORDER = {"router": 0, "switch": 1, "endpoint": 2}
_RULES = ("it is EyeNet's gateway", "{0} comes before {1}", "it has more monitored neighbours", "its id comes first")


def default_root(graph: Graph, gateways: Collection[str] = ()) -> RootChoice | None:
    """Where EyeNet enters the network when nobody said ([topology] roots): the monitored
    device first by these rules, each deciding only where the one before ties:
    1. EyeNet's gateway (gateways: monitored devices holding a next hop of EyeNet's routes);
    2. a router, then a switch, then an endpoint (the router nearest EyeNet, not the
       best-connected distribution switch);
    3. the most monitored neighbours;
    4. the id."""
    connections = graph.connections()
    managed = {n.id for n in graph.nodes.values() if n.managed}
    if not managed:
        return None

    def rank(d: str) -> tuple[bool, int, int, str]:
        return (d not in gateways, _TYPE_ORDER[graph.nodes[d].type], -sum(c in managed for c in connections.get(d, ())), d)

    def describe(d: str) -> str:
        r = rank(d)
        neighbours = f"{-r[2]} monitored neighbour{'' if r[2] == -1 else 's'}"
        return f"{d} ({graph.nodes[d].type}, {neighbours}{'' if r[0] else ', EyeNet gateway'})"

    ranked = sorted(managed, key=rank)
    best = ranked[0]
    if len(ranked) == 1:
        return RootChoice(best, f"{describe(best)}: the only monitored device")
    runner_up = ranked[1]
    rule = next(i for i, (x, y) in enumerate(zip(rank(best), rank(runner_up))) if x != y)
    why = _RULES[rule].format(f"a {graph.nodes[best].type}", f"a {graph.nodes[runner_up].type}")
    return RootChoice(best, f"{describe(best)} before {describe(runner_up)}: {why}")


def cut_off(graph: Graph, roots: Iterable[str], down: Iterable[str]) -> dict[str, str]:
    """Devices reachable from the roots only through down devices -> the down device that cuts
    them off (the first one on the way from the roots). A down root is its own cause."""
    down = set(down)
    connections = graph.connections()
    reached: set[str] = set()
    causes: dict[str, str] = {}  # down devices on the frontier, each its own cause
    queue = [r for r in roots if r in graph.nodes]
    for root in queue:
        if root in down:
            causes[root] = root
    reached.update(queue)
    queue = [r for r in queue if r not in down]
    while queue:
        node = queue.pop()
        for peer in connections.get(node, ()):
            if peer in reached:
                continue
            reached.add(peer)
            if peer in down:
                causes[peer] = peer
            else:
                queue.append(peer)
    # Whatever lies behind a frontier device (down or not) is cut off by it.
    out: dict[str, str] = {}
    for cause in sorted(causes):
        stack = [cause]
        while stack:
            node = stack.pop()
            for peer in connections.get(node, ()):
                if peer not in reached and peer not in out:
                    out[peer] = cause
                    stack.append(peer)
    return out
