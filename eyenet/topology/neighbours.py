"""Neighbour discovery from SNMP: who is on the other end of each port (LLDP, CDP).

Sans-io first: `parse_neighbours` (and `neighbours_from_varbinds`, for a flat list of
varbinds) turn walked columns into a `DeviceNeighbours`, and never raise on what an
agent sends: a row that cannot be read is left out, with the reason in `skipped`.
`read_neighbours` is the thin I/O around it: a few concurrent column walks and GETs,
cheap enough to run every few minutes on thousands of devices (docs/topology.md).

MIBs read: LLDP-MIB (1.0.8802.1.1.2), LLDP-V2-MIB (1.3.111.2.802.1.1.13, only where
LLDP-MIB has no neighbour), CISCO-CDP-MIB cdpCacheTable, MIKROTIK-MIB
mtxrNeighborTable (RouterOS' LLDP local ports), IF-MIB ifName/ifDescr (local port
names), SNMPv2-MIB, IP-MIB and BRIDGE-MIB scalars (what the device itself is).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from eyenet.snmp.mib import IF_COLUMNS, SYS_NAME
from eyenet.snmp.rows import Index, Rows, int_value, text_of
from eyenet.snmp.values import Oid, format_oid, parse_oid

# -- OIDs -------------------------------------------------------------------------

SYS_SERVICES: Oid = (1, 3, 6, 1, 2, 1, 1, 7, 0)  # SNMPv2-MIB
IP_FORWARDING: Oid = (1, 3, 6, 1, 2, 1, 4, 1, 0)  # IP-MIB: 1 forwarding, 2 notForwarding
DOT1D_BASE_BRIDGE_ADDRESS: Oid = (1, 3, 6, 1, 2, 1, 17, 1, 1, 0)  # BRIDGE-MIB
DOT1D_BASE_NUM_PORTS: Oid = (1, 3, 6, 1, 2, 1, 17, 1, 2, 0)
IP_AD_ENT_ADDR: Oid = (1, 3, 6, 1, 2, 1, 4, 20, 1, 1)  # IP-MIB ipAddrTable (IPv4, index = address)
IP_ADDRESS_IF_INDEX: Oid = (1, 3, 6, 1, 2, 1, 4, 34, 1, 3)  # IP-MIB ipAddressTable (index = type.len.address)
IF_NAME: Oid = IF_COLUMNS["ifName"]
IF_DESCR: Oid = IF_COLUMNS["ifDescr"]


@attrs.frozen
class LldpMib:
    """Where one revision of the LLDP MIB keeps what is read."""

    name: str
    loc_chassis_id_subtype: Oid
    loc_chassis_id: Oid
    loc_sys_name: Oid
    loc_sys_cap_enabled: Oid
    rem_chassis_id_subtype: Oid
    rem_chassis_id: Oid
    rem_port_id_subtype: Oid
    rem_port_id: Oid
    rem_port_desc: Oid
    rem_sys_name: Oid
    rem_sys_desc: Oid
    rem_sys_cap_enabled: Oid
    rem_man_addr: Oid  # lldp(V2)RemManAddrIfSubtype: any column will do, the address is in the index
    # The local port in a remote row's index: an lldpLocPortNum (LLDP-MIB) or an ifIndex.
    local_is_if_index: bool = True

    @property
    def rem_columns(self) -> tuple[Oid, ...]:
        return (
            self.rem_chassis_id_subtype, self.rem_chassis_id, self.rem_port_id_subtype, self.rem_port_id,
            self.rem_port_desc, self.rem_sys_name, self.rem_sys_desc, self.rem_sys_cap_enabled,
        )

    @property
    def local_scalars(self) -> tuple[Oid, ...]:
        return (self.loc_chassis_id_subtype, self.loc_chassis_id, self.loc_sys_name, self.loc_sys_cap_enabled)


def _lldp_mib(name: str, root: Oid, first_rem_column: int, man_addr_column: int, local_is_if_index: bool = True) -> LldpMib:
    local, remote = root + (3,), root + (4, 1, 1)

    def rem(k: int) -> Oid:
        return remote + (first_rem_column + k,)

    return LldpMib(
        name, local + (1, 0), local + (2, 0), local + (3, 0), local + (6, 0),
        rem(0), rem(1), rem(2), rem(3), rem(4), rem(5), rem(6), rem(8),  # rem(7): SysCapSupported, not read
        root + (4, 2, 1, man_addr_column), local_is_if_index,
    )


LLDP_V1 = _lldp_mib("LLDP-MIB", (1, 0, 8802, 1, 1, 2, 1), 4, 3, local_is_if_index=False)
LLDP_V2 = _lldp_mib("LLDP-V2-MIB", (1, 3, 111, 2, 802, 1, 1, 13, 1), 5, 3)
# Nokia SR OS keeps its neighbours in TIMETRA-LLDP-MIB's tmnxLldpRemTable: LLDP-MIB's
# columns, indexed as LLDP-V2-MIB (timeMark.localIfIndex.destAddressIndex.index). Its
# local scalars are LLDP-MIB's own (SR OS serves both), so these are never read.
TIMETRA_LLDP = _lldp_mib("TIMETRA-LLDP-MIB", (1, 3, 6, 1, 4, 1, 6527, 3, 1, 2, 59), 4, 3)
# The vendor tables read when LLDP-MIB has no neighbour, in this order.
LLDP_OTHERS = (LLDP_V2, TIMETRA_LLDP)

# TP-Link JetStream: TPLINK-LLDPINFO-MIB lldpNeighborInfoTable, index localIfIndex.n, every
# field as text (the id subtypes spelt out: "MAC address", "Interface name").
_TPLINK = (1, 3, 6, 1, 4, 1, 11863, 6, 35, 1, 2, 2, 1)
TPLINK_COLUMN: dict[str, Oid] = {
    name: _TPLINK + (number,) for name, number in (
        ("chassis_subtype", 3), ("chassis_id", 4), ("port_subtype", 5), ("port_id", 6), ("port_desc", 8),
        ("sys_name", 9), ("sys_desc", 10), ("cap_enabled", 12), ("man_addr", 13),
    )
}
TPLINK_COLUMNS = tuple(TPLINK_COLUMN.values())
# The subtypes' names (LldpChassisIdSubtype / LldpPortIdSubtype) as TP-Link writes them.
_TPLINK_CHASSIS_SUBTYPES = {"chassis component": 1, "interface alias": 2, "port component": 3, "mac address": 4,
                            "network address": 5, "interface name": 6, "locally assigned": 7, "local": 7}
_TPLINK_PORT_SUBTYPES = {"interface alias": 1, "port component": 2, "mac address": 3, "network address": 4,
                         "interface name": 5, "agent circuit id": 6, "locally assigned": 7, "local": 7}
_CAPABILITY_WORDS = {"other": "other", "repeater": "repeater", "bridge": "bridge", "wlan": "wlan-ap", "router": "router",
                     "telephone": "telephone", "docsis": "docsis", "station": "station"}
LLDP_LOC_PORT_ID: Oid = (1, 0, 8802, 1, 1, 2, 1, 3, 7, 1, 3)  # lldpLocPortTable, index lldpLocPortNum
LLDP_LOC_PORT_DESC: Oid = (1, 0, 8802, 1, 1, 2, 1, 3, 7, 1, 4)

# lldpRemTable row index lengths: LLDP-MIB's timeMark.localPortNum.index and LLDP-V2-MIB's
# timeMark.localIfIndex.destAddressIndex.index.
LLDP_INDEX_LENGTHS = (3, 4)

# CISCO-CDP-MIB cdpCacheEntry, index cdpCacheIfIndex.cdpCacheDeviceIndex
_CDP = (1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1)
CDP_ADDRESS_TYPE: Oid = _CDP + (3,)
CDP_ADDRESS: Oid = _CDP + (4,)
CDP_VERSION: Oid = _CDP + (5,)
CDP_DEVICE_ID: Oid = _CDP + (6,)
CDP_DEVICE_PORT: Oid = _CDP + (7,)
CDP_PLATFORM: Oid = _CDP + (8,)
CDP_CAPABILITIES: Oid = _CDP + (9,)
CDP_COLUMNS = (CDP_ADDRESS_TYPE, CDP_ADDRESS, CDP_VERSION, CDP_DEVICE_ID, CDP_DEVICE_PORT, CDP_PLATFORM, CDP_CAPABILITIES)

# MIKROTIK-MIB mtxrNeighborEntry: RouterOS indexes its lldpRemTable by this table's index alone.
MTXR_NEIGHBOR_IP_ADDRESS: Oid = (1, 3, 6, 1, 4, 1, 14988, 1, 1, 11, 1, 1, 2)
MTXR_NEIGHBOR_INTERFACE_ID: Oid = (1, 3, 6, 1, 4, 1, 14988, 1, 1, 11, 1, 1, 8)  # the local ifIndex

SCALARS: tuple[Oid, ...] = (
    SYS_NAME, SYS_SERVICES, IP_FORWARDING, DOT1D_BASE_BRIDGE_ADDRESS, DOT1D_BASE_NUM_PORTS,
    *LLDP_V1.local_scalars, *LLDP_V2.local_scalars,
)
COLUMNS: tuple[Oid, ...] = (
    *LLDP_V1.rem_columns, LLDP_V1.rem_man_addr, LLDP_LOC_PORT_ID, LLDP_LOC_PORT_DESC,
    *LLDP_V2.rem_columns, LLDP_V2.rem_man_addr, *TIMETRA_LLDP.rem_columns, TIMETRA_LLDP.rem_man_addr, *TPLINK_COLUMNS,
    *CDP_COLUMNS, MTXR_NEIGHBOR_IP_ADDRESS, MTXR_NEIGHBOR_INTERFACE_ID,
    IF_NAME, IF_DESCR, IP_AD_ENT_ADDR, IP_ADDRESS_IF_INDEX,
)

# -- capabilities -----------------------------------------------------------------

CAPABILITIES = ("router", "bridge", "wlan-ap", "station", "telephone", "repeater", "docsis", "other")

# LldpSystemCapabilitiesMap (BITS, bit 0 = the first octet's most significant bit); 8-10
# are LLDP-V2-MIB's additions, all parts of a bridge (802.1Q C-VLAN and S-VLAN
# components, two-port MAC relay).
LLDP_CAPABILITY_BITS: Mapping[int, str] = {
    0: "other", 1: "repeater", 2: "bridge", 3: "wlan-ap", 4: "router", 5: "telephone", 6: "docsis", 7: "station",
    8: "bridge", 9: "bridge", 10: "bridge",
}
# cdpCacheCapabilities (the CDP capabilities TLV, a 32-bit mask). IGMP (0x20) is a feature,
# not a kind of device: it maps to nothing. Bits not listed map to "other".
CDP_CAPABILITY_BITS: Mapping[int, str | None] = {
    0x01: "router", 0x02: "bridge", 0x04: "bridge", 0x08: "bridge", 0x10: "station", 0x20: None,
    0x40: "repeater", 0x80: "telephone", 0x100: "other", 0x200: "other", 0x400: "bridge",
}

_CDP_ROUTER, _CDP_TRANS_BRIDGE, _CDP_SR_BRIDGE, _CDP_SWITCH = 0x01, 0x02, 0x04, 0x08

# Subtypes (LldpChassisIdSubtype and LldpPortIdSubtype number them differently)
CHASSIS_MAC, CHASSIS_NETWORK_ADDRESS = 4, 5
PORT_MAC, PORT_NETWORK_ADDRESS = 3, 4
_CHASSIS_INTERFACE_NAMES = (2, 6)  # interfaceAlias, interfaceName

# Dell OS10 fills the TLVs a neighbour did not send with this text.
_NOT_ADVERTISED = frozenset({"Not Advertised"})


# -- values -------------------------------------------------------------------------


@attrs.frozen
class Neighbour:
    """One neighbour seen on one local port.

    remote_chassis_id and remote_port are normalised: a MAC as "aa:bb:cc:dd:ee:ff", a
    network address as the IP text, printable text as text, other bytes as lower-case
    colon hex. CDP has no chassis id (None): remote_name is its identity.
    remote_port: the port id, or the port description when the id is empty (CDP:
    cdpCacheDevicePort). remote_description: lldpRemSysDesc, or CDP's platform and
    version on two lines. remote_platform: CDP's cdpCachePlatform (LLDP: None)."""

    protocol: str  # "lldp" | "cdp"
    local_if_index: int | None
    local_port: str
    remote_chassis_id: str | None
    remote_chassis_subtype: int | None
    remote_port: str | None
    remote_port_description: str | None
    remote_name: str | None
    remote_description: str | None
    remote_capabilities: frozenset[str]
    remote_addresses: tuple[str, ...]
    remote_platform: str | None = None

    @property
    def key(self) -> tuple[str, str, str | None, str | None]:
        """(protocol, local port, remote chassis, remote port): one neighbour per key."""
        return (self.protocol, self.local_port, self.remote_chassis_id or self.remote_name, self.remote_port)


@attrs.frozen
class LocalIdentity:
    """What the device says it is: how its neighbours and the topology will know it."""

    chassis_id: str | None
    sys_name: str | None
    capabilities: frozenset[str]
    sys_services: int | None
    ip_forwarding: bool | None
    bridge: bool | None
    addresses: tuple[str, ...]
    base_mac: str | None


@attrs.frozen
class DeviceNeighbours:
    """skipped: rows (or parts of rows) left out, each with why. problems: parts the
    agent did not answer (the reading is partial), as in DeviceReading."""

    local: LocalIdentity
    neighbours: tuple[Neighbour, ...]
    skipped: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


# -- pure: varbinds -> facts ----------------------------------------------------------


def neighbours_from_varbinds(varbinds: Mapping[Any, Any] | Iterable[Any]) -> DeviceNeighbours:
    """parse_neighbours() of a flat set of varbinds: VarBinds, (oid, value) pairs or an
    {oid: value} mapping, OIDs as tuples or dotted strings. Each goes to the scalar or
    column it belongs to (see SCALARS, COLUMNS); others are ignored."""
    scalars, columns = split_varbinds(varbinds)
    return parse_neighbours(scalars, columns)


def split_varbinds(varbinds: Mapping[Any, Any] | Iterable[Any]) -> tuple[dict[Oid, Any], dict[Oid, dict[Index, Any]]]:
    """(scalars, columns) as read_neighbours gathers them, from a flat set of varbinds."""
    pairs = varbinds.items() if isinstance(varbinds, Mapping) else ((vb[0], vb[-1]) for vb in varbinds)
    known = set(SCALARS)
    by_length = sorted(COLUMNS, key=len, reverse=True)
    scalars: dict[Oid, Any] = {}
    columns: dict[Oid, dict[Index, Any]] = {}
    for oid, value in pairs:
        oid = parse_oid(oid) if isinstance(oid, str) else tuple(oid)
        if value is None:
            continue
        if oid in known:
            scalars[oid] = value
            continue
        for column in by_length:
            if oid[: len(column)] == column and len(oid) > len(column):
                columns.setdefault(column, {})[oid[len(column):]] = value
                break
    return scalars, columns


def parse_neighbours(scalars: Mapping[Oid, Any], columns: Mapping[Oid, Rows]) -> DeviceNeighbours:
    """The device's identity and neighbours from what was read: scalars by OID, walked
    columns as {column OID: {row index: value}} (collect.rows_of). Never raises."""
    skipped: list[str] = []
    ports = Ports(columns)
    found = lldp_neighbours(LLDP_V1, columns, ports, skipped)
    for other in LLDP_OTHERS:
        if not found:
            found = lldp_neighbours(other, columns, ports, skipped)
    if not found:
        found = tplink_neighbours(columns, ports, skipped)
    found += cdp_neighbours(columns, ports, skipped)
    unique: dict[tuple[str, str, str | None, str | None], Neighbour] = {}
    for n in found:
        first = unique.get(n.key)
        if first is None:
            unique[n.key] = n
        elif set(n.remote_addresses) - set(first.remote_addresses):  # the same neighbour again (LLDP-V2: per agent)
            unique[n.key] = attrs.evolve(first, remote_addresses=_ip_order(first.remote_addresses + n.remote_addresses))
    neighbours = sorted(unique.values(), key=_neighbour_order)
    return DeviceNeighbours(local_identity(scalars, columns), tuple(neighbours), tuple(skipped))


def _neighbour_order(n: Neighbour) -> tuple[str, int, str, str, str, str]:
    return (
        n.protocol, n.local_if_index if n.local_if_index is not None else 2**32, n.local_port,
        n.remote_name or "", n.remote_chassis_id or "", n.remote_port or "",
    )


def local_identity(scalars: Mapping[Oid, Any], columns: Mapping[Oid, Rows]) -> LocalIdentity:
    mib = LLDP_V1 if scalars.get(LLDP_V1.loc_chassis_id) is not None else LLDP_V2
    bridge_address = scalars.get(DOT1D_BASE_BRIDGE_ADDRESS)
    base_mac = mac_address(bridge_address)
    num_ports = int_value(scalars.get(DOT1D_BASE_NUM_PORTS))
    if num_ports is None and bridge_address is None:
        bridge = None
    else:
        bridge = bool(num_ports) or bridge_address is not None
    forwarding = int_value(scalars.get(IP_FORWARDING))
    capabilities: frozenset[str] = frozenset()
    for m in (LLDP_V1, LLDP_V2):
        if scalars.get(m.loc_sys_cap_enabled) is not None:
            capabilities = lldp_capabilities(scalars[m.loc_sys_cap_enabled])
            break
    return LocalIdentity(
        chassis_id=chassis_id(scalars.get(mib.loc_chassis_id), int_value(scalars.get(mib.loc_chassis_id_subtype))),
        sys_name=next(filter(None, (_text(scalars.get(o)) for o in (SYS_NAME, LLDP_V1.loc_sys_name, LLDP_V2.loc_sys_name))), None),
        capabilities=capabilities,
        sys_services=int_value(scalars.get(SYS_SERVICES)),
        ip_forwarding={1: True, 2: False}.get(forwarding) if forwarding is not None else None,
        bridge=bridge,
        addresses=own_addresses(columns),
        base_mac=None if base_mac == "00:00:00:00:00:00" else base_mac,
    )


def own_addresses(columns: Mapping[Oid, Rows]) -> tuple[str, ...]:
    """The device's unicast addresses (ipAddrTable, ipAddressTable), without loopback,
    unspecified and IPv6 link-local ones (those name no device to another)."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for index, value in columns.get(IP_AD_ENT_ADDR, {}).items():
        raw = value if isinstance(value, bytes) and len(value) == 4 else bytes(a for a in index if 0 <= a < 256)
        if len(raw) == 4 and len(index) == 4:
            found.append(ipaddress.IPv4Address(raw))
    for index in columns.get(IP_ADDRESS_IF_INDEX, {}):
        address = _inet_address(index)
        if address is not None:
            found.append(address)
    kept = {
        a for a in found
        if not (a.is_loopback or a.is_unspecified or a.is_multicast or (a.version == 6 and a.is_link_local))
    }
    return tuple(str(a) for a in sorted(kept, key=lambda a: (a.version, int(a))))


def _inet_address(index: Index) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """ipAddressTable's index: InetAddressType (1 ipv4, 2 ipv6; the zoned ones are left
    out), then the address, length first."""
    if len(index) < 2 or index[0] not in (1, 2) or index[1] != len(index) - 2 or any(not 0 <= a < 256 for a in index[2:]):
        return None
    raw = bytes(index[2:])
    if index[0] == 1 and len(raw) == 4:
        return ipaddress.IPv4Address(raw)
    if index[0] == 2 and len(raw) == 16:
        return ipaddress.IPv6Address(raw)
    return None


class Ports:
    """Local interfaces: ifIndex -> name (ifName, else ifDescr), and the way back by name;
    LLDP-MIB's lldpLocPortTable (port number -> port id and description)."""

    def __init__(self, columns: Mapping[Oid, Rows]):
        names, descrs = columns.get(IF_NAME, {}), columns.get(IF_DESCR, {})
        self.names: dict[int, str] = {}
        self.by_name: dict[str, int] = {}
        indexes = sorted(i[0] for i in set(names) | set(descrs) if len(i) == 1)
        for index in indexes:
            if text := _text(names.get((index,))) or _text(descrs.get((index,))):
                self.names[index] = text
        for texts in (names, descrs):  # ifName first: it wins a name both hold
            for index in indexes:
                text = _text(texts.get((index,)))
                if text:
                    self.by_name.setdefault(text, index)
        loc_ids, loc_descrs = columns.get(LLDP_LOC_PORT_ID, {}), columns.get(LLDP_LOC_PORT_DESC, {})
        self.loc: dict[int, tuple[str, ...]] = {}
        for row in set(loc_ids) | set(loc_descrs):
            if len(row) == 1:
                port = tuple(t for t in (_text(loc_ids.get(row)), _text(loc_descrs.get(row))) if t)
                if port:
                    self.loc[row[0]] = port

    def by_if_index(self, if_index: int) -> tuple[int, str] | None:
        name = self.names.get(if_index)
        return None if name is None else (if_index, name)

    def by_port_num(self, num: int) -> tuple[int | None, str] | None:
        """LLDP-MIB's lldpRemLocalPortNum: a lldpLocPortNum, whose port id or description
        names the interface (VRP, Dell OS10, Arista), or else an ifIndex (Junos, ProCurve,
        EdgeSwitch, FortiGate: their port ids are numbers or absent). A port in neither
        IF-MIB nor by number: its lldpLocPortId (if_index None)."""
        texts = self.loc.get(num, ())
        for text in texts:
            if_index = self.by_name.get(text)
            if if_index is not None:
                return if_index, self.names[if_index]
        found = self.by_if_index(num)
        if found is not None:
            return found
        return (None, texts[0]) if texts else None

    def unmatched(self, nums: Iterable[int]) -> bool:
        """Whether some port number's lldpLocPortTable row names no interface known here
        (only all of IF-MIB can then tell its ifIndex)."""
        for num in nums:
            texts = self.loc.get(num, ())
            if texts and not any(text in self.by_name for text in texts):
                return True
        return False


def row_indexes(columns: Mapping[Oid, Rows], table: Sequence[Oid]) -> set[Index]:
    return {index for column in table for index in columns.get(column, {})}


def lldp_neighbours(mib: LldpMib, columns: Mapping[Oid, Rows], ports: Ports, skipped: list[str]) -> list[Neighbour]:
    """Neighbours from one LLDP MIB's lldpRemTable (and lldpRemManAddrTable)."""
    rows = row_indexes(columns, mib.rem_columns)
    if not rows:
        return []
    get = {column: columns.get(column, {}) for column in mib.rem_columns}
    addresses = _man_addresses(mib, columns, rows, skipped)
    mikrotik_if = columns.get(MTXR_NEIGHBOR_INTERFACE_ID, {})
    mikrotik_ip = columns.get(MTXR_NEIGHBOR_IP_ADDRESS, {})
    out = []
    for index in sorted(rows):
        where = f"{mib.name} lldpRemTable row {format_oid(index)}"
        if len(index) in LLDP_INDEX_LENGTHS:
            # Either revision's index form, whichever MIB it is under: firmware of one vendor
            # has moved from timeMark.localPortNum.index to the V2 form (a destination address
            # index before the last number) under LLDP-MIB's OIDs. The local port is the second.
            local = ports.by_if_index(index[1]) if mib.local_is_if_index else ports.by_port_num(index[1])
            if local is None:
                if not mib.local_is_if_index:
                    skipped.append(f"{where}: local port {index[1]} is in neither lldpLocPortTable nor IF-MIB")
                else:
                    skipped.append(f"{where}: local ifIndex {index[1]} not in IF-MIB")
                continue
        elif mib is LLDP_V1 and len(index) == 1:
            # RouterOS: one number, the local port in MIKROTIK-MIB mtxrNeighborInterfaceID.
            if_index = int_value(mikrotik_if.get(index))
            local = None if if_index is None else ports.by_if_index(if_index)
            if local is None:
                skipped.append(
                    f"{where}: one-number index, and mtxrNeighborInterfaceID.{index[0]} gives no known ifIndex "
                    f"({mikrotik_if.get(index)!r})"
                )
                continue
            ip = mikrotik_ip.get(index)
            if isinstance(ip, bytes) and len(ip) == 4 and ip != bytes(4):
                addresses.setdefault(index, []).append(str(ipaddress.IPv4Address(ip)))
        else:
            skipped.append(f"{where}: index of {len(index)} numbers (expected 3 or 4)")
            continue
        neighbour = _lldp_row(index, get, mib, local, addresses.get(index, ()))
        if neighbour is None:
            skipped.append(f"{where}: no chassis id, port id or system name")
            continue
        out.append(neighbour)
    return out


def tplink_neighbours(columns: Mapping[Oid, Rows], ports: "Ports", skipped: list[str]) -> list[Neighbour]:
    """Neighbours from TP-Link's lldpNeighborInfoTable (text fields, index localIfIndex.n)."""
    get = {key: columns.get(column, {}) for key, column in TPLINK_COLUMN.items()}
    out = []
    for index in sorted(row_indexes(columns, TPLINK_COLUMNS)):
        where = f"TPLINK-LLDPINFO-MIB lldpNeighborInfoTable row {format_oid(index)}"
        local = ports.by_if_index(index[0]) if len(index) == 2 else None
        if local is None:
            skipped.append(f"{where}: local ifIndex {index[0]} not in IF-MIB")
            continue
        words = (_text(get["cap_enabled"].get(index)) or "").lower().split()
        address = _tplink_address(_text(get["man_addr"].get(index)))
        neighbour = _lldp_neighbour(
            local,
            _TPLINK_CHASSIS_SUBTYPES.get((_text(get["chassis_subtype"].get(index)) or "").lower()), get["chassis_id"].get(index),
            _TPLINK_PORT_SUBTYPES.get((_text(get["port_subtype"].get(index)) or "").lower()), get["port_id"].get(index),
            get["port_desc"].get(index), get["sys_name"].get(index), get["sys_desc"].get(index),
            frozenset(_CAPABILITY_WORDS[w] for w in words if w in _CAPABILITY_WORDS), () if address is None else (address,),
        )
        if neighbour is None:
            skipped.append(f"{where}: no chassis id, port id or system name")
            continue
        out.append(neighbour)
    return out


def _tplink_address(text: str | None) -> str | None:
    """TP-Link's management address text: an IPv4 address written IPv4-compatible
    ("::169.254.2.131") as the IPv4 address; "::" (none) as None."""
    if text is None:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.is_unspecified:
        return None
    if address.version == 6 and int(address) >> 32 == 0:
        return str(ipaddress.IPv4Address(int(address)))
    return str(address)


def _lldp_row(
    index: Index, get: Mapping[Oid, Rows], mib: LldpMib, local: tuple[int | None, str], addresses: Iterable[str]
) -> Neighbour | None:
    return _lldp_neighbour(
        local,
        int_value(get[mib.rem_chassis_id_subtype].get(index)), get[mib.rem_chassis_id].get(index),
        int_value(get[mib.rem_port_id_subtype].get(index)), get[mib.rem_port_id].get(index),
        get[mib.rem_port_desc].get(index), get[mib.rem_sys_name].get(index), get[mib.rem_sys_desc].get(index),
        lldp_capabilities(get[mib.rem_sys_cap_enabled].get(index)), addresses,
    )


def _lldp_neighbour(
    local: tuple[int | None, str], chassis_subtype: int | None, chassis_value: Any, port_subtype: int | None, port_value: Any,
    port_desc: Any, sys_name: Any, sys_desc: Any, capabilities: frozenset[str], addresses: Iterable[str],
) -> Neighbour | None:
    """One LLDP neighbour from its fields as the agent gave them (ids normalised here);
    None when it has neither chassis id, port id nor name."""
    chassis = chassis_id(chassis_value, chassis_subtype)
    port = port_id(port_value, port_subtype)
    if chassis_subtype in _CHASSIS_INTERFACE_NAMES and (port is None or (port_subtype == PORT_MAC and _is_mac(port))):
        # VMware dvSwitch: the port's name in the chassis id, the port's MAC in the port id.
        chassis, port = port, chassis
        chassis_subtype = CHASSIS_MAC if chassis is not None else None
    port_description = _text(port_desc)
    name = _text(sys_name)
    if chassis is None and port is None and name is None:
        return None
    ips = list(addresses)
    if chassis_subtype == CHASSIS_NETWORK_ADDRESS and chassis is not None and _is_ip(chassis):
        ips.append(chassis)
    return Neighbour(
        protocol="lldp",
        local_if_index=local[0],
        local_port=local[1],
        remote_chassis_id=chassis,
        remote_chassis_subtype=chassis_subtype,
        remote_port=port or port_description,
        remote_port_description=port_description,
        remote_name=name,
        remote_description=_text(sys_desc),
        remote_capabilities=capabilities,
        remote_addresses=_ip_order(ips),
    )


def _man_addresses(
    mib: LldpMib, columns: Mapping[Oid, Rows], rows: set[Index], skipped: list[str]
) -> dict[Index, list[str]]:
    """lldpRemManAddrTable: {remote row index: [IP, ...]}. The address is in the row
    index (remote row index, AddressFamilyNumbers subtype, length, octets); some agents
    leave the length out. Non-IP addresses (802 MACs, family 6) are not addresses here."""
    out: dict[Index, list[str]] = {}
    lengths = {len(i) for i in rows}
    for index in columns.get(mib.rem_man_addr, {}):
        for n in sorted(lengths, reverse=True):
            if index[:n] in rows:
                break
        else:
            skipped.append(f"{mib.name} lldpRemManAddrTable row {format_oid(index)}: no lldpRemTable row it belongs to")
            continue
        rest = index[n:]
        if not rest or rest[0] not in (1, 2):
            continue
        size = 4 if rest[0] == 1 else 16
        if len(rest) == size + 2 and rest[1] == size:
            octets = rest[2:]
        elif len(rest) == size + 1:
            octets = rest[1:]
        else:
            octets = ()
        if len(octets) != size or any(not 0 <= a < 256 for a in octets):
            version = 4 if size == 4 else 6
            skipped.append(f"{mib.name} lldpRemManAddrTable row {format_oid(index)}: not an IPv{version} address")
            continue
        address = ipaddress.ip_address(bytes(octets))
        out.setdefault(index[:n], []).append(str(address))
    return out


def cdp_neighbours(columns: Mapping[Oid, Rows], ports: Ports, skipped: list[str]) -> list[Neighbour]:
    """Neighbours from CISCO-CDP-MIB cdpCacheTable (index cdpCacheIfIndex.cdpCacheDeviceIndex)."""
    get = {column: columns.get(column, {}) for column in CDP_COLUMNS}
    out = []
    for index in sorted(row_indexes(columns, CDP_COLUMNS)):
        where = f"CISCO-CDP-MIB cdpCacheTable row {format_oid(index)}"
        if len(index) != 2:
            skipped.append(f"{where}: index of {len(index)} numbers (expected 2)")
            continue
        local = ports.by_if_index(index[0])
        if local is None:
            skipped.append(f"{where}: local ifIndex {index[0]} not in IF-MIB")
            continue
        name = _text(get[CDP_DEVICE_ID].get(index))
        port = _text(get[CDP_DEVICE_PORT].get(index))
        if name is None and port is None:
            skipped.append(f"{where}: no device id or port")
            continue
        platform = _text(get[CDP_PLATFORM].get(index))
        version = _text(get[CDP_VERSION].get(index))
        addresses = []
        raw = get[CDP_ADDRESS].get(index)
        if raw is not None:
            address = cdp_address(int_value(get[CDP_ADDRESS_TYPE].get(index)), raw)
            if address is None:
                skipped.append(
                    f"{where}: cdpCacheAddress of type {get[CDP_ADDRESS_TYPE].get(index)!r} "
                    f"is not an IP address ({_hex(raw) if isinstance(raw, bytes) else raw!r}); the neighbour is kept"
                )
            else:
                addresses.append(address)
        out.append(
            Neighbour(
                protocol="cdp",
                local_if_index=local[0],
                local_port=local[1],
                remote_chassis_id=None,
                remote_chassis_subtype=None,
                remote_port=port,
                remote_port_description=None,
                remote_name=name,
                remote_description="\n".join(t for t in (platform, version) if t) or None,
                remote_capabilities=cdp_capabilities(get[CDP_CAPABILITIES].get(index)),
                remote_addresses=tuple(addresses),
                remote_platform=platform,
            )
        )
    return out


def cdp_address(address_type: int | None, value: Any) -> str | None:
    """cdpCacheAddress as an IP: type ip (1) with 4 octets, ipv6 (20) with 16."""
    if not isinstance(value, bytes):
        return None
    if address_type == 1 and len(value) == 4:
        return str(ipaddress.IPv4Address(value))
    if address_type == 20 and len(value) == 16:
        return str(ipaddress.IPv6Address(value))
    return None


# -- pure: normalising ----------------------------------------------------------------


def chassis_id(value: Any, subtype: int | None) -> str | None:
    """lldpRemChassisId / lldpLocChassisId normalised (LldpChassisIdSubtype: 4 macAddress,
    5 networkAddress)."""
    return normalise_id(value, subtype, mac=CHASSIS_MAC, network=CHASSIS_NETWORK_ADDRESS)


def port_id(value: Any, subtype: int | None) -> str | None:
    """lldpRemPortId normalised (LldpPortIdSubtype: 3 macAddress, 4 networkAddress)."""
    return normalise_id(value, subtype, mac=PORT_MAC, network=PORT_NETWORK_ADDRESS)


def normalise_id(value: Any, subtype: int | None, *, mac: int, network: int) -> str | None:
    """A MAC as "aa:bb:cc:dd:ee:ff" (6 octets, or text some agents send instead), a
    network address (AddressFamilyNumbers octet + address) as the IP text, printable text
    as text, any other octets as lower-case colon hex. None when empty."""
    if value is None:
        return None
    if not isinstance(value, bytes):
        return _text(value)
    if not value:
        return None
    if subtype == mac:
        found = mac_address(value)
        if found is not None:
            return found
    elif subtype == network:
        found = _network_address(value)
        if found is not None:
            return found
    text = _printable(value)
    if text is not None:
        return text.strip() or None
    return _hex(value)


def mac_address(value: Any) -> str | None:
    """6 octets, or a MAC written as text (aa:bb:.., aa-bb-.., aabb.ccdd.eeff, 12 hex digits)."""
    if not isinstance(value, bytes):
        return None
    if len(value) == 6:
        return _hex(value)
    text = _printable(value)
    if text is None:
        return None
    text = text.strip().lower()
    parts = re.split(r"[:\- ]", text)
    if len(parts) == 6 and all(re.fullmatch(r"[0-9a-f]{1,2}", p) for p in parts):
        return ":".join(p.zfill(2) for p in parts)
    compact = text.replace(".", "") if re.fullmatch(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}", text) else text
    if re.fullmatch(r"[0-9a-f]{12}", compact):
        return ":".join(compact[i : i + 2] for i in range(0, 12, 2))
    return None


def _network_address(value: bytes) -> str | None:
    if len(value) == 5 and value[0] == 1:
        return str(ipaddress.IPv4Address(value[1:]))
    if len(value) == 17 and value[0] == 2:
        return str(ipaddress.IPv6Address(value[1:]))
    text = _printable(value)
    if text is not None:
        try:
            return str(ipaddress.ip_address(text.strip()))
        except ValueError:
            return None
    if len(value) in (4, 16):  # the address without its family octet
        return str(ipaddress.ip_address(value))
    return None


def lldp_capabilities(value: Any) -> frozenset[str]:
    """lldpRemSysCapEnabled / lldpLocSysCapEnabled (LldpSystemCapabilitiesMap, BITS) as
    names. Two agent quirks: RouterOS answers an INTEGER, the capabilities field of the
    LLDP frame (bit n = 2**n: 20 = bridge + router); and values recorded through net-snmp's
    BITS display come back as its text, "28 00 2 4" (octets in hex, then the set bits),
    possibly of text again (Dell OS10's "36 38 20 31 ..." is the text of "68 1 2 4")."""
    if type(value) is int:
        bits = {n for n in range(16) if value >> n & 1} if value >= 0 else set()
    elif isinstance(value, bytes):
        for _ in range(3):
            decoded = _bits_from_text(value)
            if decoded is None:
                break
            value = decoded
        bits = _set_bits(value)
    else:
        return frozenset()
    return frozenset(LLDP_CAPABILITY_BITS.get(n, "other") for n in bits)


def cdp_capabilities(value: Any) -> frozenset[str]:
    """cdpCacheCapabilities (4 octets, a bit mask; some agents give an INTEGER) as names."""
    if isinstance(value, bytes):
        if len(value) > 8:
            return frozenset()
        mask = int.from_bytes(value, "big")
    elif type(value) is int and value >= 0:
        mask = value
    else:
        return frozenset()
    names = set()
    if mask & (_CDP_TRANS_BRIDGE | _CDP_SR_BRIDGE) and not mask & (_CDP_SWITCH | _CDP_ROUTER):
        names.add("wlan-ap")  # what Cisco access points announce: no switch, no router bit
    bit = 1
    while bit <= mask:
        if mask & bit:
            name = CDP_CAPABILITY_BITS.get(bit, "other")
            if name is not None:
                names.add(name)
        bit <<= 1
    return frozenset(names)


def _set_bits(octets: bytes) -> set[int]:
    return {8 * i + b for i, octet in enumerate(octets) for b in range(8) if octet & (0x80 >> b)}


_HEX_OCTET = re.compile(r"[0-9A-Fa-f]{2}")


def _bits_from_text(value: bytes) -> bytes | None:
    """The octets of net-snmp's display of a BITS value ("28 00 2 4": hex octets, then the
    numbers of the bits set), or None when value is not that. The bit list must be exactly
    the octets' set bits: that tells "20 2" (0x20, bit 2) from two octets "20" and "02"."""
    if len(value) < 2 or not value.isascii():
        return None
    tokens = value.decode("ascii").split(" ")
    if not all(t.isalnum() for t in tokens):
        return None
    for k in range(len(tokens), 0, -1):
        head, tail = tokens[:k], tokens[k:]
        if not all(_HEX_OCTET.fullmatch(t) for t in head) or not all(t.isdigit() for t in tail):
            continue
        octets = bytes.fromhex("".join(head))
        if sorted(int(t) for t in tail) == sorted(_set_bits(octets)):
            return octets
    return None


def _printable(value: bytes) -> str | None:
    """value as text if it is printable UTF-8 (trailing NULs dropped), else None."""
    try:
        text = value.decode("utf-8").rstrip("\x00")
    except UnicodeDecodeError:
        return None
    return text if text and text.isprintable() else None


def _text(value: Any) -> str | None:
    """A display string: cut at the first NUL (padding, then garbage, on some agents),
    stripped; None when empty or Dell OS10's "Not Advertised"."""
    if value is None:
        return None
    text = text_of(value).split("\x00", 1)[0].strip()
    return text if text and text not in _NOT_ADVERTISED else None


def _hex(value: bytes) -> str:
    return ":".join(f"{b:02x}" for b in value)


def _is_mac(text: str) -> bool:
    return re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", text) is not None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _ip_order(addresses: Iterable[str]) -> tuple[str, ...]:
    unique = {ipaddress.ip_address(a) for a in addresses}
    return tuple(str(a) for a in sorted(unique, key=lambda a: (a.version, int(a))))
