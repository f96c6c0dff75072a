"""eyenet.neighbours: LLDP/CDP neighbours and the device's own identity.

Two parts:

* the recordings in tests/data/librenms/snmprec, served by snmpsim (community = file
  stem), read with read_neighbours(). Every one is read without a problem. For the 12 in
  RECORDINGS, where LibreNMS' expectations have ``discovery-protocols``, the links EyeNet
  finds equal LibreNMS' on (protocol, local ifName, remote hostname, remote port),
  compared as the vendor means them (LINK_NOTES says, per recording, where LibreNMS'
  method differs and how the comparison deals with it); the others of the 12 are checked
  against what they actually hold (OBSERVED).
* the pure parsing, on hand-built varbinds: id normalisation, capabilities, the quirks
  (RouterOS, VMware, Dell OS10, text BITS), LLDP-V2-MIB, CDP, malformed rows.
"""

from __future__ import annotations

import agents
import librenms
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from eyenet.collect.profiles import load_profiles
from eyenet.collect.read import read_device
from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.errors import SnmpTimeout
from eyenet.snmp.values import VarBind, format_oid, parse_oid
from eyenet.topology.neighbours import (
    CDP_COLUMNS,
    COLUMNS,
    LLDP_V1,
    LLDP_V2,
    SCALARS,
    DeviceNeighbours,
    cdp_capabilities,
    chassis_id,
    lldp_capabilities,
    neighbours_from_varbinds,
    port_id,
    split_varbinds,
)
from eyenet.topology.read import read_neighbours

# Every recording in tests/data/librenms/snmprec.
ALL_RECORDINGS = agents.recording_names(agents.SNMPREC_DIR)

# The recordings whose neighbours are held to the letter here (counts, nameless ones,
# identity, requests): the 12 the neighbour reader was written against. Every recording's
# links are compared with LibreNMS' in test_collect_recordings (LLDP-V2-MIB, TIMETRA-LLDP-MIB
# and TP-Link's table among them).
RECORDINGS = (
    "arista_eos_vrf", "arubaos-cx", "dell-os10", "edgeswitch_es-24-250w", "fortigate_60fospfv3", "ios_2960x",
    "junos_qfx5100", "linux_icecast", "nxos_n3k-3064pq", "procurve_e2910", "routeros_crs317", "vrp_5720",
)

# lldpRemTable + cdpCacheTable rows of each recording (tests/data/librenms/README.md): every
# row is a neighbour; none is malformed or a duplicate.
ROWS = {
    "arista_eos_vrf": 4, "arubaos-cx": 18, "dell-os10": 5, "edgeswitch_es-24-250w": 2, "fortigate_60fospfv3": 2,
    "ios_2960x": 7, "junos_qfx5100": 2, "linux_icecast": 0, "nxos_n3k-3064pq": 3, "procurve_e2910": 2,
    "routeros_crs317": 18, "vrp_5720": 5,
}

# Every LLDP link: LibreNMS writes remote_port as "<port> (<12 hex digits>)", the hex being
# a MAC of the neighbour (its chassis MAC, or its port MAC when the port id is one); the
# port is what the vendor sent. The suffix is stripped before comparing.
# LibreNMS makes a link only for a neighbour with a name (lldpRemSysName, else its
# lldpRemSysDesc); EyeNet keeps nameless neighbours (remote_name None), and leaves them out
# of the comparison the same way (NAMELESS says how many there are).
LINK_NOTES = {
    "arubaos-cx": (
        "8 neighbours have neither lldpRemSysName nor lldpRemSysDesc (the NICs' own LLDP agents on "
        "1/1/8, 1/1/9 and 1/1/43-48, MAC chassis and port ids): LibreNMS makes no link for them, EyeNet "
        "keeps them nameless. The VMware dvSwitch rows (vmhost-*) put the port name in lldpRemChassisId "
        "(subtype interfaceName) and the port MAC in lldpRemPortId: LibreNMS and EyeNet both swap them "
        "back (remote port vmnicN). The MAC ids are text ('00:50:d7:...') under the macAddress subtype. "
        "lldpRemLocalPortNum is a lldpLocPortNum, mapped through lldpLocPortId to ifName."
    ),
    "fortigate_60fospfv3": (
        "No lldpLocPortTable: lldpRemLocalPortNum is the ifIndex (2 = wan2, 9 = a). FortiOS leaves ifDescr "
        "empty: LibreNMS and EyeNet name the port by ifName. Its second lldpRemManAddrTable row "
        "(...2.2, an IPv6 address) names a neighbour 2.2 that does not exist: EyeNet skips it (SKIPPED)."
    ),
    "ios_2960x": "CDP only; LibreNMS and EyeNet agree as is (local port = ifName, 'Gi1/0/3').",
    "junos_qfx5100": (
        "lldpLocPortId is the ifIndex as text ('513'), naming no interface: the port number is then the "
        "ifIndex (513 = xe-0/0/0). The remote port is the port id ('2150', subtype local), as for "
        "LibreNMS, not the description ('ifa')."
    ),
    "nxos_n3k-3064pq": (
        "Neighbour names are anonymised to '<private>' in the recording, as in LibreNMS' expectations. "
        "The CDP rows' cdpCacheAddress (type ip) holds 6 anonymised octets, not an IPv4 address: EyeNet "
        "keeps the neighbours and skips the addresses (SKIPPED)."
    ),
    "procurve_e2910": "Port ids are numbers ('41'); the neighbour's chassis id is an all-zero MAC.",
    "vrp_5720": (
        "lldpRemLocalPortNum is a lldpLocPortNum that is NOT the ifIndex: port 14 is lldpLocPortId "
        "GigabitEthernet0/0/14 (ifIndex 19), while ifIndex 14 is GigabitEthernet0/0/9. Mapped through "
        "lldpLocPortTable, EyeNet and LibreNMS agree."
    ),
}
NAMELESS = {"arubaos-cx": 8, "edgeswitch_es-24-250w": 2, "routeros_crs317": 1, "dell-os10": 1}

SKIPPED = {
    "fortigate_60fospfv3": [
        "LLDP-MIB lldpRemManAddrTable row 425284449.2.2.2.16.42.7.53.0.19.184.223.17.0.0.0.0.0.0.0.4: "
        "no lldpRemTable row it belongs to"
    ],
    "nxos_n3k-3064pq": [
        "CISCO-CDP-MIB cdpCacheTable row 83886080.6029313: cdpCacheAddress of type 1 is not an IP address "
        "('00:11:22:33:44:55'); the neighbour is kept",
        "CISCO-CDP-MIB cdpCacheTable row 436404224.11730945: cdpCacheAddress of type 1 is not an IP address "
        "('00:11:22:33:44:56'); the neighbour is kept",
    ],
}

# Recordings without LibreNMS links: what they hold, as (protocol, local port, remote name,
# remote port, remote chassis id, capabilities, addresses), one per neighbour.
B, R = "bridge", "router"
OBSERVED = {
    # lldpLocPortTable maps 97 to 'Management1', ifIndex 999001. Its management address there
    # is an 802 MAC (family 6), not an IP.
    "arista_eos_vrf": [
        ("lldp", "Ethernet1", "switchname2", "47", "94:18:82:56:f6:80", {B}, ("172.29.173.53",)),
        ("lldp", "Ethernet23", "switchname3", "Ethernet23", "00:1c:73:b3:af:bb", {B}, ("169.254.1.2",)),
        ("lldp", "Ethernet24", "switchname3", "Ethernet24", "00:1c:73:b3:af:bb", {B}, ("169.254.1.2",)),
        ("lldp", "Management1", "switchname4", "41", "00:24:a8:e1:d0:80", {B}, ()),
    ],
    # lldpRemLocalPortNum 612... are lldpLocPortNums (lldpLocPortId ethernet1/1/25 = ifIndex 37).
    # Dell OS10 writes "Not Advertised" for the TLVs a neighbour did not send (None here), and
    # its capabilities come back as text of text: "36 38 20 31 ..." is "68 1 2 4", 0x68 =
    # repeater, bridge, router.
    "dell-os10": [
        ("lldp", "mgmt1/1/1", "1007-mnt-1", "Gi1/0/6", "14:18:77:dd:6f:ca", set(), ()),
        ("lldp", "ethernet1/1/25", "1007-lan-2", "ethernet1/1/25", "4c:d9:8f:fb:1e:fe", {"repeater", B, R}, ()),
        ("lldp", "ethernet1/1/26", "1007-lan-2", "ethernet1/1/26", "4c:d9:8f:fb:1e:fe", {"repeater", B, R}, ()),
        ("lldp", "ethernet1/1/29", "core-1", "517", "e4:fc:82:36:23:c0", {B, R}, ()),
        ("lldp", "ethernet1/1/30", None, "TenGigabitEthernet 1/43", "f4:8e:38:55:de:f6", set(), ()),
    ],
    # Binary chassis and port ids (MAC subtypes), no name; port numbers are ifIndexes
    # (lldpLocPortId '24' names no interface; ifIndex 24 is 0/24).
    "edgeswitch_es-24-250w": [
        ("lldp", "0/1", None, "80:2a:a8:4d:a4:38", "80:2a:a8:4d:a4:36", set(), ()),
        ("lldp", "0/24", None, "30:9c:23:7d:90:2a", "30:9c:23:7d:90:2a", set(), ()),
    ],
    "linux_icecast": [],
    # RouterOS: lldpRemTable indexed by one number, the local port in MIKROTIK-MIB
    # mtxrNeighborInterfaceID (an ifIndex); capabilities as an INTEGER (20 = bridge + router,
    # 36 = bridge + telephone, 28 = bridge + wlan-ap + router); MAC chassis ids as text.
    "routeros_crs317": [
        ("lldp", "sfp-sfpplus13", None, None, "00:24:01:0f:65:62", set(), ()),
        ("lldp", "sfp-sfpplus13", "ap.jason.corp.local", "bridge", "e4:8d:8c:e1:4e:28", {B, "wlan-ap", R}, ()),
        ("lldp", "sfp-sfpplus13", "router.jason.corp.local", "bridge1/shop-trunk/ether4", "64:d1:54:f2:a4:10", {B, R}, ()),
        ("lldp", "sfp-sfpplus13", "router.jason.corp.local", "Phones", "64:d1:54:f2:a4:16", {B, R}, ()),
        ("lldp", "sfp-sfpplus14", "SEP001795B0F381.jason.corp.local", "SW PORT", "00:17:95:b0:f3:81", {B, "telephone"}, ()),
        ("lldp", "sfp-sfpplus14", "SEP001930D4A025.jason.corp.local", "SW PORT", "00:19:30:d4:a0:25", {B, "telephone"}, ()),
        ("lldp", "sfp-sfpplus14", "router.jason.corp.local", "Guest", "64:d1:54:f2:a4:16", {B, R}, ()),
        ("lldp", "sfp-sfpplus15", "SEP0015FAFE4806", "Port 1", "00:15:fa:fe:48:06", set(), ()),
        ("lldp", "sfp-sfpplus15", "ap.jason.corp.local", "bridge", "e4:8d:8c:e1:4e:28", set(), ()),
        ("lldp", "sfp-sfpplus15", "core-sw.jason.corp.local", "bridge1/shop-trunk/sfp-sfpplus14", "cc:2d:e0:a3:3d:e1", set(), ()),
        ("lldp", "sfp-sfpplus15", "core-sw.jason.corp.local", "bridge1/ether1", "cc:2d:e0:a3:3d:e5", set(), ()),
        ("lldp", "sfp-sfpplus15", "router.jason.corp.local", "bridge1/server-trunk/ether6", "64:d1:54:f2:a4:12", set(), ()),
        ("lldp", "sfp-sfpplus15", "router.jason.corp.local", "Guest", "64:d1:54:f2:a4:16", {B, R}, ()),
        ("lldp", "sfp-sfpplus15", "server-sw", None, "6c:3b:6b:e4:e8:a8", set(), ()),
        ("lldp", "sfp-sfpplus15", "shop-sw", None, "6c:3b:6b:e5:2a:5e", set(), ()),
        ("lldp", "sfp-sfpplus16", "router.jason.corp.local", "bridge1/server-trunk/ether6", "64:d1:54:f2:a4:12", {B, R}, ()),
        ("lldp", "sfp-sfpplus16", "router.jason.corp.local", "Phones", "64:d1:54:f2:a4:16", {B, R}, ()),
        ("lldp", "ether1", "router.jason.corp.local", "Phones", "64:d1:54:f2:a4:16", {B, R}, ()),
    ],
}

# What each recording says about the device itself: (bridge, base_mac, addresses). None of
# them holds sysServices, ipForwarding, dot1dBaseNumPorts or the LLDP local scalars.
IDENTITY = {
    "arista_eos_vrf": (None, None, ("169.254.1.1",)),
    "dell-os10": (None, None, ("fda5:74c8:b79e:1::1",)),  # ::1 and fe80:: left out
    "fortigate_60fospfv3": (
        None, None, ("2a07:3500:13b8:1501::1", "2a07:3500:13b8:1507::1", "2a07:3500:13b8:1508::1", "2a07:3500:13b8:df11::5"),
    ),
    "ios_2960x": (True, "ac:7e:8a:19:bf:00", ()),
    "linux_icecast": (None, None, ()),
    "nxos_n3k-3064pq": (True, "f8:72:ea:e0:09:bc", ()),
    "procurve_e2910": (True, None, ()),  # dot1dBaseBridgeAddress 00:00:00:00:00:00: a bridge, no MAC
    "routeros_crs317": (True, "cc:2d:e0:a3:3d:d5", ("10.10.12.2",)),
    "vrp_5720": (True, "48:8e:ef:71:66:e0", ()),
}
IDENTITY_DEFAULT = (None, None, ())


async def read(agent, name: str, version: str = "2c", **kwargs) -> tuple[DeviceNeighbours, int]:
    async with SnmpClient.open() as client:
        with trio.fail_after(60):
            target = Target(agent.host, agent.port, version=version, community=name, timeout=10)
            result = await read_neighbours(client, target, **kwargs)
        return result, client.stats.requests


def test_every_recording_is_covered(snmprec_dir):
    assert set(RECORDINGS) <= set(agents.recording_names(snmprec_dir))
    assert set(OBSERVED) | set(LINK_NOTES) == set(RECORDINGS)


@pytest.mark.parametrize("name", ALL_RECORDINGS)
async def test_every_recording_reads_without_problems(snmpsim_agent, name):
    """Whatever the device, reading its neighbours neither fails nor leaves parts unread."""
    result, _ = await read(snmpsim_agent, name)
    assert result.problems == ()
    assert len({n.key for n in result.neighbours}) == len(result.neighbours)


@pytest.mark.parametrize("name", RECORDINGS)
async def test_recording_neighbours(snmpsim_agent, testdata_dir, name):
    result, requests = await read(snmpsim_agent, name)
    assert result.problems == ()
    assert list(result.skipped) == SKIPPED.get(name, [])
    assert len(result.neighbours) == ROWS[name]
    assert len({n.key for n in result.neighbours}) == len(result.neighbours)
    assert sum(n.remote_name is None for n in result.neighbours) == NAMELESS.get(name, 0)
    # Cheap: a handful of requests per device (GETBULKs of several columns, one GET of scalars).
    assert requests <= (4 if ROWS[name] == 0 else 12), requests

    links = librenms.librenms_links(librenms.expected(name, testdata_dir))
    if links is not None:
        assert name in LINK_NOTES
        assert librenms.eyenet_links(result.neighbours) == links, LINK_NOTES[name]
    else:
        got = {
            (n.protocol, n.local_port, n.remote_name, n.remote_port, n.remote_chassis_id, tuple(sorted(n.remote_capabilities)),
             n.remote_addresses)
            for n in result.neighbours
        }
        want = {row[:5] + (tuple(sorted(row[5])),) + row[6:] for row in OBSERVED[name]}
        assert got == want

    local = result.local
    assert local.sys_name == "<private>"
    assert (local.bridge, local.base_mac, local.addresses) == IDENTITY.get(name, IDENTITY_DEFAULT)
    assert (local.chassis_id, local.sys_services, local.ip_forwarding, local.capabilities) == (None, None, None, frozenset())


async def test_recording_details(snmpsim_agent):
    """Fields the link comparison does not look at."""
    ios, _ = await read(snmpsim_agent, "ios_2960x")
    switch = [n for n in ios.neighbours if n.local_port == "Gi1/0/52"][0]
    assert switch.local_if_index == 10152
    assert switch.remote_chassis_id is None and switch.remote_port_description is None
    assert switch.remote_platform == "cisco WS-C3850-12S"
    assert switch.remote_description.startswith("cisco WS-C3850-12S\nCisco IOS Software, IOS-XE Software")
    assert switch.remote_capabilities == {"router", "bridge"}  # 0x29: router, switch, IGMP
    assert switch.remote_addresses == ("10.54.64.5",)
    ap = [n for n in ios.neighbours if n.local_port == "Gi1/0/3"][0]
    assert ap.remote_capabilities == {"bridge", "wlan-ap"}  # 0x26: trans-bridge, source-route bridge, IGMP

    nxos, _ = await read(snmpsim_agent, "nxos_n3k-3064pq")
    lldp = [n for n in nxos.neighbours if n.protocol == "lldp"][0]
    assert (lldp.local_if_index, lldp.remote_chassis_id, lldp.remote_chassis_subtype) == (436404224, "18:e7:28:92:28:78", 4)
    assert lldp.remote_addresses == ("172.30.192.161",)  # the other lldpRemManAddr is an 802 MAC
    assert lldp.remote_description.startswith("Cisco Nexus Operating System (NX-OS) Software 7.0(3)I7(8)\nTAC support")
    assert lldp.remote_capabilities == {"bridge", "router"}  # "28 00 00 00 2 4"
    cdp = [n for n in nxos.neighbours if n.protocol == "cdp" and n.local_port == "Ethernet1/49"][0]
    assert cdp.remote_capabilities == {"router", "bridge", "other"}  # 0x209
    assert cdp.remote_addresses == ()

    aruba, _ = await read(snmpsim_agent, "arubaos-cx")
    vmhost = [n for n in aruba.neighbours if n.remote_name == "vmhost-20"][0]
    assert (vmhost.remote_port, vmhost.remote_chassis_id, vmhost.remote_chassis_subtype) == ("vmnic5", "00:0a:f7:ec:d1:61", 4)
    assert vmhost.remote_port_description == "port 3 on dvSwitch iSCSI-dvSwitch (cswitch)"
    nic = [n for n in aruba.neighbours if n.remote_name and n.remote_name.startswith("Broadcom")][0]
    assert nic.remote_capabilities == {"station"}  # "01 7"
    peer = [n for n in aruba.neighbours if n.local_port == "1/1/53"][0]
    assert (peer.local_if_index, peer.remote_addresses) == (53, ("172.20.5.87",))

    vrp, _ = await read(snmpsim_agent, "vrp_5720")
    assert {n.local_port: n.local_if_index for n in vrp.neighbours}["GigabitEthernet0/0/14"] == 19

    forti, _ = await read(snmpsim_agent, "fortigate_60fospfv3")
    assert {n.remote_name: n.remote_addresses for n in forti.neighbours} == {"cx6300-a1": ("10.0.11.4",), "cx6100testp01a": ()}


@pytest.mark.parametrize("name", RECORDINGS)
async def test_interfaces_from_a_poll_give_the_same_and_save_requests(snmpsim_agent, name):
    """read_neighbours(interfaces=) reuses the poll's ifName/ifDescr instead of reading them."""
    target = Target(snmpsim_agent.host, snmpsim_agent.port, community=name, timeout=10)
    async with SnmpClient.open() as client:
        reading = await read_device(client, target, load_profiles())
    alone, requests = await read(snmpsim_agent, name)
    reused, fewer = await read(snmpsim_agent, name, interfaces=reading.interfaces)
    assert reused == alone
    assert fewer <= requests


async def test_snmp_v1_reads_the_same(snmpsim_agent):
    for name in ("ios_2960x", "vrp_5720", "routeros_crs317"):
        v2c, _ = await read(snmpsim_agent, name)
        v1, _ = await read(snmpsim_agent, name, version="1")
        assert v1 == v2c, name


async def test_silent_device_raises_a_plain_timeout():
    port = agents.free_udp_port()
    async with SnmpClient.open() as client:
        with pytest.raises(SnmpTimeout):
            await read_neighbours(client, Target("127.0.0.1", port, timeout=0.2, retries=0))


# -- pure parsing, on hand-built varbinds ------------------------------------------------------

REM = "1.0.8802.1.1.2.1.4.1.1"
LOC = "1.0.8802.1.1.2.1.3"
MAN = "1.0.8802.1.1.2.1.4.2.1.3"
V2REM = "1.3.111.2.802.1.1.13.1.4.1.1"
V2MAN = "1.3.111.2.802.1.1.13.1.4.2.1.3"
CDP = "1.3.6.1.4.1.9.9.23.1.2.1.1"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"


def interfaces(**names: str) -> dict[str, bytes]:
    """ifName rows: interfaces(**{"5": "Gi0/5"})."""
    return {f"{IF_NAME}.{index}": name.encode() for index, name in names.items()}


def lldp_row(index: str, chassis=b"\x00\x11\x22\x33\x44\x55", chassis_subtype=4, port=b"Gi0/1", port_subtype=5,
             name=b"sw1", desc=b"", port_desc=b"", caps=b"\x28\x00", rem=REM, first=4) -> dict:
    values = {first: chassis_subtype, first + 1: chassis, first + 2: port_subtype, first + 3: port, first + 4: port_desc,
              first + 5: name, first + 6: desc, first + 8: caps}
    return {f"{rem}.{column}.{index}": value for column, value in values.items() if value is not None}


def one(result: DeviceNeighbours):
    assert len(result.neighbours) == 1, result
    return result.neighbours[0]


@pytest.mark.parametrize("value, subtype, want", [
    (b"\x00\x1c\x73\xb3\xaf\xbb", 4, "00:1c:73:b3:af:bb"),  # MAC, 6 octets
    (b"00:1C:73:B3:AF:BB", 4, "00:1c:73:b3:af:bb"),  # MAC written as text (AOS-CX, RouterOS)
    (b"00-1c-73-b3-af-bb", 4, "00:1c:73:b3:af:bb"),
    (b"001c.73b3.afbb", 4, "00:1c:73:b3:af:bb"),
    (b"001c73b3afbb", 4, "00:1c:73:b3:af:bb"),
    (b"0:1c:73:b3:af:b", 4, "00:1c:73:b3:af:0b"),
    (b"\x01\x0a\x00\x0b\x04", 5, "10.0.11.4"),  # network address: IANA family 1 + IPv4
    (b"\x02" + bytes(15) + b"\x01", 5, "::1"),  # family 2 + IPv6
    (b"192.0.2.7", 5, "192.0.2.7"),  # as text
    (b"\xc0\x00\x02\x07", 5, "192.0.2.7"),  # without the family octet
    (b"SN1234567", 7, "SN1234567"),  # local: printable text
    (b"switch-1\x00\x00", 1, "switch-1"),  # trailing NULs
    (b"\xde\xad\x01", 7, "de:ad:01"),  # other binary: colon hex
    (b"\x00\x1c\x73\xb3\xaf\xbb", 7, "00:1c:73:b3:af:bb"),  # 6 octets, not said to be a MAC
    (b"\x01\x02\x03", 4, "01:02:03"),  # a MAC subtype that is not one
    (b"\x07\x01\x02\x03\x04", 5, "07:01:02:03:04"),  # family 7: not IP
    (b"", 4, None),
    (None, 4, None),
    (12, 7, "12"),
])
def test_chassis_id(value, subtype, want):
    assert chassis_id(value, subtype) == want


def test_port_id_subtypes_differ_from_chassis_ones():
    mac = b"\x00\x1c\x73\xb3\xaf\xbb"
    assert port_id(mac, 3) == "00:1c:73:b3:af:bb"  # port macAddress is 3
    assert port_id(b"\x01\x0a\x00\x00\x01", 4) == "10.0.0.1"  # port networkAddress is 4
    assert port_id(b"Ethernet1/49", 5) == "Ethernet1/49"
    assert port_id(b"\x01\x0a\x00\x00\x01", 5) == "01:0a:00:00:01"  # interfaceName, yet binary
    assert chassis_id(b"\x01\x0a\x00\x00\x01", 4) == "01:0a:00:00:01"  # chassis subtype 4 is MAC: not 5 octets


@pytest.mark.parametrize("value, want", [
    (b"\x28\x00", {"bridge", "router"}),  # BITS: bit 0 is the first octet's top bit
    (b"\x01\x00", {"station"}),
    (b"\x80", {"other"}),
    (b"\x44", {"repeater", "telephone"}),
    (b"\x12", {"wlan-ap", "docsis"}),
    (b"\x00\xe0", {"bridge"}),  # LLDP-V2: C-VLAN, S-VLAN, two-port MAC relay
    (b"\x00\x10", {"other"}),  # bit 11: unknown
    (b"", set()),
    (b"\x00\x00", set()),
    (20, {"bridge", "router"}),  # RouterOS: an INTEGER, bit n = 2**n
    (36, {"bridge", "telephone"}),
    (28, {"bridge", "wlan-ap", "router"}),
    (0, set()),
    (b"28 00 2 4", {"bridge", "router"}),  # net-snmp's BITS display, recorded as text
    (b"28 00 00 00 2 4", {"bridge", "router"}),
    (b"20 2", {"bridge"}),
    (b"01 7", {"station"}),
    (b"30 30 2 3 10 11", set()),  # text of "00": no capability
    (b"36 38 20 31 20 32 20 34 2 3 5 6 10 11 12 18 26 27 31 34 42 43 46 50 58 59 61", {"repeater", "bridge", "router"}),
    (b"28", {"bridge", "wlan-ap", "docsis", "other"}),  # 0x32 0x38, bits 2 3 6 10 11 12: binary (no bit list)
    (None, set()),
    ((1, 3), set()),
])
def test_lldp_capabilities(value, want):
    assert lldp_capabilities(value) == want


@pytest.mark.parametrize("value, want", [
    (b"\x00\x00\x00\x29", {"router", "bridge"}),  # router, switch, IGMP
    (b"\x00\x00\x00\x26", {"bridge", "wlan-ap"}),  # AP: trans-bridge, source-route bridge, IGMP, no switch bit
    (b"\x00\x00\x00\x0a", {"bridge"}),  # trans-bridge with the switch bit: a switch
    (b"\x00\x00\x00\x90", {"station", "telephone"}),  # phone: host, phone
    (b"\x00\x00\x02\x09", {"router", "bridge", "other"}),
    (b"\x00\x00\x00\x40", {"repeater"}),
    (b"\x00\x00\x04\x00", {"bridge"}),  # two-port MAC relay
    (b"\x00\x01\x00\x00", {"other"}),
    (0x11, {"router", "station"}),
    (b"", set()),
    (b"x" * 40, set()),
    ("router", set()),
])
def test_cdp_capabilities(value, want):
    assert cdp_capabilities(value) == want


def test_lldp_port_number_mapped_through_the_local_port_table():
    varbinds = {
        **interfaces(**{"5": "Gi0/5", "14": "Gi0/9", "19": "Gi0/14", "30": "Gi0/30"}),
        f"{IF_DESCR}.30": b"GigabitEthernet0/30",
        # 14: lldpLocPortId names ifIndex 19 (VRP): not ifIndex 14.
        f"{LOC}.7.1.3.14": b"Gi0/14",
        # 30: the id is a MAC, the description the ifDescr.
        f"{LOC}.7.1.3.30": b"\x00\x11\x22\x33\x44\x55",
        f"{LOC}.7.1.4.30": b"GigabitEthernet0/30",
        # 5: numbers only (Junos, EdgeSwitch): the port number is the ifIndex.
        f"{LOC}.7.1.3.5": b"5",
        # 99: a port in no IF-MIB row: its lldpLocPortId.
        f"{LOC}.7.1.3.99": b"Management1",
        **lldp_row("0.14.1", name=b"a"),
        **lldp_row("0.30.1", name=b"b"),
        **lldp_row("0.5.1", name=b"c"),
        **lldp_row("0.99.1", name=b"d"),
        **lldp_row("0.77.1", name=b"e"),  # neither: skipped
    }
    result = neighbours_from_varbinds(varbinds)
    assert {n.remote_name: (n.local_if_index, n.local_port) for n in result.neighbours} == {
        "a": (19, "Gi0/14"), "b": (30, "Gi0/30"), "c": (5, "Gi0/5"), "d": (None, "Management1"),
    }
    assert result.skipped == ("LLDP-MIB lldpRemTable row 0.77.1: local port 77 is in neither lldpLocPortTable nor IF-MIB",)


def test_interface_without_ifname_is_named_by_ifdescr():
    result = neighbours_from_varbinds({f"{IF_DESCR}.3": b"GigabitEthernet0/3", f"{IF_NAME}.3": b"", **lldp_row("0.3.1")})
    assert (one(result).local_if_index, one(result).local_port) == (3, "GigabitEthernet0/3")


def test_binary_ids_and_no_name():
    """EdgeSwitch: MAC chassis and port ids as octets, no name, no description."""
    result = neighbours_from_varbinds({
        **interfaces(**{"24": "0/24"}),
        **lldp_row("53.24.2", chassis=b"\x30\x9c\x23\x7d\x90\x2a", port=b"\x30\x9c\x23\x7d\x90\x2b", port_subtype=3,
                   name=None, desc=None, port_desc=None, caps=None),
    })
    n = one(result)
    assert (n.local_port, n.remote_chassis_id, n.remote_port) == ("0/24", "30:9c:23:7d:90:2a", "30:9c:23:7d:90:2b")
    assert n.remote_name is None
    assert (n.remote_description, n.remote_port_description, n.remote_capabilities) == (None, None, frozenset())


def test_network_address_chassis_is_also_an_address():
    result = neighbours_from_varbinds({
        **interfaces(**{"1": "ge-0/0/1"}),
        **lldp_row("0.1.1", chassis=b"\x01\xc0\x00\x02\x01", chassis_subtype=5),
        f"{MAN}.0.1.1.1.4.192.0.2.9": 2,
    })
    n = one(result)
    assert (n.remote_chassis_id, n.remote_chassis_subtype) == ("192.0.2.1", 5)
    assert n.remote_addresses == ("192.0.2.1", "192.0.2.9")


def test_management_addresses_from_the_index():
    result = neighbours_from_varbinds({
        **interfaces(**{"1": "e1"}),
        **lldp_row("0.1.1"),
        f"{MAN}.0.1.1.1.4.10.0.0.1": 2,  # IPv4, length-prefixed
        f"{MAN}.0.1.1.1.10.0.0.2": 2,  # IPv4, no length (some agents)
        f"{MAN}.0.1.1.2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1": 2,  # IPv6 2001:db8::1
        f"{MAN}.0.1.1.6.6.0.36.168.225.208.128": 2,  # an 802 MAC (family 6): not an IP, not a problem
        f"{MAN}.0.1.1.1.4.10.0": 2,  # too short
        f"{MAN}.0.1.2.1.4.10.0.0.3": 2,  # no such neighbour
    })
    assert one(result).remote_addresses == ("10.0.0.1", "10.0.0.2", "2001:db8::1")
    assert result.skipped == (
        "LLDP-MIB lldpRemManAddrTable row 0.1.1.1.4.10.0: not an IPv4 address",
        "LLDP-MIB lldpRemManAddrTable row 0.1.2.1.4.10.0.0.3: no lldpRemTable row it belongs to",
    )


def test_mikrotik_single_number_index():
    mtxr = "1.3.6.1.4.1.14988.1.1.11.1.1"
    result = neighbours_from_varbinds({
        **interfaces(**{"15": "sfp-sfpplus15", "17": "ether1"}),
        **lldp_row("8", chassis=b"64:D1:54:F2:A4:16", port=b"Guest", caps=20, name=b"router.corp"),
        **lldp_row("21", chassis=b"64:D1:54:F2:A4:16", port=b"Phones", caps=20, name=b"router.corp"),
        **lldp_row("82", chassis=b"00:24:01:0F:65:62", port=b"", caps=0, name=b""),
        **lldp_row("90", name=b"lost"),
        **lldp_row("91", name=b"nowhere"),
        f"{mtxr}.8.8": 15, f"{mtxr}.8.21": 17, f"{mtxr}.8.82": 15, f"{mtxr}.8.91": 33,
        f"{mtxr}.2.8": b"\x0a\x0a\x0c\x01",  # mtxrNeighborIpAddress
    })
    got = {
        (n.local_if_index, n.local_port, n.remote_name, n.remote_chassis_id, n.remote_port, n.remote_addresses)
        for n in result.neighbours
    }
    assert got == {
        (15, "sfp-sfpplus15", "router.corp", "64:d1:54:f2:a4:16", "Guest", ("10.10.12.1",)),
        (17, "ether1", "router.corp", "64:d1:54:f2:a4:16", "Phones", ()),
        (15, "sfp-sfpplus15", None, "00:24:01:0f:65:62", None, ()),
    }
    assert {n.remote_name: n.remote_capabilities for n in result.neighbours}["router.corp"] == {"bridge", "router"}
    assert result.skipped == (
        "LLDP-MIB lldpRemTable row 90: one-number index, and mtxrNeighborInterfaceID.90 gives no known ifIndex (None)",
        "LLDP-MIB lldpRemTable row 91: one-number index, and mtxrNeighborInterfaceID.91 gives no known ifIndex (33)",
    )


def test_vmware_dvswitch_port_name_in_the_chassis_id():
    result = neighbours_from_varbinds({
        **interfaces(**{"10": "1/1/10"}),
        **lldp_row("5.10.19", chassis=b"vmnic5", chassis_subtype=6, port=b"00:0a:f7:ec:d1:61", port_subtype=3, name=b"vmhost-20"),
    })
    n = one(result)
    assert (n.remote_port, n.remote_chassis_id, n.remote_chassis_subtype) == ("vmnic5", "00:0a:f7:ec:d1:61", 4)
    # An interface-name chassis with a port that is no MAC is left as sent.
    result = neighbours_from_varbinds({
        **interfaces(**{"10": "1/1/10"}),
        **lldp_row("5.10.19", chassis=b"eth0", chassis_subtype=6, port=b"port 7", port_subtype=1),
    })
    assert (one(result).remote_chassis_id, one(result).remote_port) == ("eth0", "port 7")


def test_texts_are_cleaned():
    result = neighbours_from_varbinds({
        **interfaces(**{"1": "e1"}),
        **lldp_row("0.1.1", name=b"sw1\x00\xff\xfegarbage", desc=b"  Not Advertised ", port_desc=b"Not Advertised", port=b""),
    })
    n = one(result)
    assert (n.remote_name, n.remote_description, n.remote_port_description, n.remote_port) == ("sw1", None, None, None)
    # An empty port id falls back on the description.
    result = neighbours_from_varbinds({**interfaces(**{"1": "e1"}), **lldp_row("0.1.1", port=b"", port_desc=b"uplink")})
    assert (one(result).remote_port, one(result).remote_port_description) == ("uplink", "uplink")


def test_lldp_v2_is_read_when_lldp_mib_has_no_neighbour():
    v2 = {
        **interfaces(**{"7": "ge-0/0/7"}),
        # timeMark.localIfIndex.destAddressIndex.index; the same neighbour seen by two agents
        # (nearest bridge, nearest customer bridge) is one neighbour.
        **lldp_row("0.7.1.3", rem=V2REM, first=5, caps=b"\x08\x20"),
        **lldp_row("0.7.2.3", rem=V2REM, first=5, caps=b"\x08\x20"),
        f"{V2MAN}.0.7.1.3.1.4.192.0.2.1": 2,
        f"{V2MAN}.0.7.2.3.2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1": 2,
        **lldp_row("0.8.1.4", rem=V2REM, first=5, name=b"gone"),  # ifIndex 8 unknown
    }
    result = neighbours_from_varbinds(v2)
    n = one(result)
    assert (n.local_if_index, n.local_port, n.remote_name, n.remote_port) == (7, "ge-0/0/7", "sw1", "Gi0/1")
    assert n.remote_capabilities == {"router", "bridge"}  # 0x08 0x20: bits 4 and 10
    assert n.remote_addresses == ("192.0.2.1", "2001:db8::1")
    assert result.skipped == ("LLDP-V2-MIB lldpRemTable row 0.8.1.4: local ifIndex 8 not in IF-MIB",)
    # Where LLDP-MIB has neighbours, LLDP-V2-MIB (the same ones, again) is not read.
    result = neighbours_from_varbinds({**v2, **lldp_row("0.7.1", name=b"v1"), f"{LOC}.7.1.3.7": b"ge-0/0/7"})
    assert [n.remote_name for n in result.neighbours] == ["v1"]


def test_sr_os_neighbours_in_timetra_lldp_mib():
    """SR OS keeps neighbours in TIMETRA-LLDP-MIB: LLDP-MIB's columns, LLDP-V2-MIB's index
    (timeMark.localIfIndex.destAddressIndex.index)."""
    timetra = "1.3.6.1.4.1.6527.3.1.2.59.4.1.1"
    result = neighbours_from_varbinds({
        **interfaces(**{"1610891272": "1/1/1"}),
        **lldp_row("23903806.1610891272.1.7", rem=timetra, port=b"38010880", port_subtype=7, name=b"HOUF_SR_01"),
    })
    n = one(result)
    assert (n.local_if_index, n.local_port, n.remote_name, n.remote_port) == (1610891272, "1/1/1", "HOUF_SR_01", "38010880")


def test_tp_link_neighbours_in_its_own_table():
    """TP-Link JetStream: lldpNeighborInfoTable, index localIfIndex.n, every field as text."""
    tp = "1.3.6.1.4.1.11863.6.35.1.2.2.1"
    row = "49167.1"
    result = neighbours_from_varbinds({
        **interfaces(**{"49167": "gigabitEthernet 1/0/15"}),
        f"{tp}.3.{row}": b"MAC address", f"{tp}.4.{row}": b"48:A9:8A:C1:AC:58",
        f"{tp}.5.{row}": b"Interface name", f"{tp}.6.{row}": b"trunk: Up (eth1)",
        f"{tp}.8.{row}": b"trunk: Switch (br1)", f"{tp}.9.{row}": b"w131.soada", f"{tp}.10.{row}": b"MikroTik RouterOS 7.19",
        f"{tp}.12.{row}": b"Bridge Router ", f"{tp}.13.{row}": b"::169.254.2.131",
        f"{tp}.9.49999.1": b"nowhere",  # ifIndex 49999 unknown
    })
    n = one(result)
    assert (n.local_if_index, n.local_port, n.remote_name, n.remote_port) == (49167, "gigabitEthernet 1/0/15", "w131.soada", "trunk: Up (eth1)")
    assert (n.remote_chassis_id, n.remote_chassis_subtype) == ("48:a9:8a:c1:ac:58", 4)
    assert n.remote_capabilities == {"bridge", "router"} and n.remote_addresses == ("169.254.2.131",)
    assert result.skipped == ("TPLINK-LLDPINFO-MIB lldpNeighborInfoTable row 49999.1: local ifIndex 49999 not in IF-MIB",)


def test_cdp():
    result = neighbours_from_varbinds({
        **interfaces(**{"10103": "Gi1/0/3", "10104": "Gi1/0/4", "10105": "Gi1/0/5", "10106": "Gi1/0/6"}),
        f"{CDP}.3.10103.1": 1, f"{CDP}.4.10103.1": b"\xac\x1b\x31\x54",  # ip, 4 octets
        f"{CDP}.6.10103.1": b"ap-011", f"{CDP}.7.10103.1": b"GigabitEthernet0",
        f"{CDP}.8.10103.1": b"cisco AIR-AP2702I-UXK9", f"{CDP}.5.10103.1": b"Cisco IOS Software\nVersion 15.3",
        f"{CDP}.9.10103.1": b"\x00\x00\x00\x26",
        f"{CDP}.3.10104.2": 20, f"{CDP}.4.10104.2": bytes.fromhex("20010db8000000000000000000000002"),  # ipv6
        f"{CDP}.6.10104.2": b"sw2(FOX1234)", f"{CDP}.7.10104.2": b"Ethernet1/1",
        f"{CDP}.3.10105.3": 1, f"{CDP}.4.10105.3": bytes.fromhex("001122334455"),  # ip, 6 octets: the address goes
        f"{CDP}.6.10105.3": b"sw3", f"{CDP}.7.10105.3": b"Ethernet1/2",
        f"{CDP}.6.10106.4": b"", f"{CDP}.7.10106.4": b"",  # nothing to name it by
        f"{CDP}.6.999.5": b"sw5", f"{CDP}.7.999.5": b"Gi0/1",  # ifIndex 999 unknown
        f"{CDP}.6.10103": b"short",  # index of one number
    })
    got = {n.remote_name: n for n in result.neighbours}
    assert set(got) == {"ap-011", "sw2(FOX1234)", "sw3"}
    ap = got["ap-011"]
    assert (ap.protocol, ap.local_if_index, ap.local_port, ap.remote_port) == ("cdp", 10103, "Gi1/0/3", "GigabitEthernet0")
    assert (ap.remote_chassis_id, ap.remote_chassis_subtype, ap.remote_port_description) == (None, None, None)
    assert ap.remote_addresses == ("172.27.49.84",)
    assert ap.remote_platform == "cisco AIR-AP2702I-UXK9"
    assert ap.remote_description == "cisco AIR-AP2702I-UXK9\nCisco IOS Software\nVersion 15.3"
    assert ap.remote_capabilities == {"bridge", "wlan-ap"}
    assert got["sw2(FOX1234)"].remote_addresses == ("2001:db8::2",)
    assert got["sw2(FOX1234)"].remote_description is None
    assert got["sw3"].remote_addresses == ()
    assert result.skipped == (
        "CISCO-CDP-MIB cdpCacheTable row 999.5: local ifIndex 999 not in IF-MIB",
        "CISCO-CDP-MIB cdpCacheTable row 10103: index of 1 numbers (expected 2)",
        "CISCO-CDP-MIB cdpCacheTable row 10105.3: cdpCacheAddress of type 1 is not an IP address ('00:11:22:33:44:55'); "
        "the neighbour is kept",
        "CISCO-CDP-MIB cdpCacheTable row 10106.4: no device id or port",
    )


def test_malformed_lldp_rows_are_skipped_with_a_reason():
    result = neighbours_from_varbinds({
        **interfaces(**{"1": "e1", "2": "e2"}),
        **lldp_row("0.1"),  # two numbers
        **lldp_row("0.2.1", chassis=b"", port=b"", name=b"", port_desc=b""),  # nothing identifies it
        **lldp_row("0.1.1.5.6", name=b"x"),  # five numbers
        # Values of the wrong types: read as well as they can be, never an exception.
        f"{REM}.4.0.2.2": b"\x04", f"{REM}.5.0.2.2": 12345, f"{REM}.6.0.2.2": b"x", f"{REM}.7.0.2.2": (1, 3, 6),
        f"{REM}.9.0.2.2": 7, f"{REM}.12.0.2.2": "bits",
    })
    n = one(result)
    assert (n.local_port, n.remote_chassis_id, n.remote_chassis_subtype) == ("e2", "12345", None)
    assert (n.remote_port, n.remote_name) == ("1.3.6", "7")
    assert result.skipped == (
        "LLDP-MIB lldpRemTable row 0.1: index of 2 numbers (expected 3 or 4)",
        "LLDP-MIB lldpRemTable row 0.1.1.5.6: index of 5 numbers (expected 3 or 4)",
        "LLDP-MIB lldpRemTable row 0.2.1: no chassis id, port id or system name",
    )


def test_one_neighbour_per_local_port_chassis_and_port():
    result = neighbours_from_varbinds({
        **interfaces(**{"1": "e1", "2": "e2"}),
        f"{LOC}.7.1.3.1": b"e1",
        **lldp_row("100.1.1"),
        **lldp_row("200.1.2"),  # the same, under a later time mark
        **lldp_row("200.1.3", port=b"Gi0/2"),  # another port of it
        **lldp_row("200.2.4"),  # the same remote port, seen on another local port
    })
    assert [(n.local_port, n.remote_port) for n in result.neighbours] == [("e1", "Gi0/1"), ("e1", "Gi0/2"), ("e2", "Gi0/1")]


@settings(max_examples=300, deadline=None)
@given(st.lists(
    st.tuples(
        st.sampled_from(COLUMNS + SCALARS),
        st.lists(st.integers(0, 2**32 - 1), max_size=7),
        st.one_of(st.binary(max_size=24), st.integers(-(2**63), 2**64), st.none(),
                  st.lists(st.integers(0, 2**32 - 1), max_size=5).map(tuple), st.text(max_size=10)),
    ),
    max_size=40,
))
def test_parser_never_raises(rows):
    varbinds = [(column + tuple(index), value) for column, index, value in rows]
    result = neighbours_from_varbinds(varbinds)
    assert isinstance(result, DeviceNeighbours)
    for n in result.neighbours:
        assert n.local_port and n.protocol in ("lldp", "cdp")
        assert n.remote_capabilities <= {"router", "bridge", "wlan-ap", "station", "telephone", "repeater", "docsis", "other"}


def test_local_identity():
    result = neighbours_from_varbinds({
        "1.3.6.1.2.1.1.5.0": b"",  # sysName empty: lldpLocSysName
        f"{LOC}.3.0": b"core-1",
        f"{LOC}.1.0": 4, f"{LOC}.2.0": b"\x00\x1c\x73\xb3\xaf\xbb",
        f"{LOC}.6.0": b"\x28\x00",
        "1.3.6.1.2.1.1.7.0": 78, "1.3.6.1.2.1.4.1.0": 1,
        "1.3.6.1.2.1.17.1.2.0": 52, "1.3.6.1.2.1.17.1.1.0": b"\x00\x1c\x73\xb3\xaf\x00",
        "1.3.6.1.2.1.4.20.1.1.10.0.0.1": b"\x0a\x00\x00\x01",
        "1.3.6.1.2.1.4.20.1.1.127.0.0.1": b"\x7f\x00\x00\x01",
        "1.3.6.1.2.1.4.34.1.3.1.4.10.0.0.1": 3,  # the same, from ipAddressTable
        "1.3.6.1.2.1.4.34.1.3.1.4.192.0.2.5": 4,
        "1.3.6.1.2.1.4.34.1.3.2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1": 4,
        "1.3.6.1.2.1.4.34.1.3.2.16.254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1": 4,  # fe80::1: left out
        "1.3.6.1.2.1.4.34.1.3.4.20.254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.5": 4,  # ipv6z: left out
        "1.3.6.1.2.1.4.34.1.3.2.3.1.2.3": 4,  # malformed
    })
    local = result.local
    assert (local.chassis_id, local.sys_name, local.capabilities) == ("00:1c:73:b3:af:bb", "core-1", {"bridge", "router"})
    assert (local.sys_services, local.ip_forwarding, local.bridge, local.base_mac) == (78, True, True, "00:1c:73:b3:af:00")
    assert local.addresses == ("10.0.0.1", "192.0.2.5", "2001:db8::1")
    # LLDP-V2-MIB local data where LLDP-MIB has none; not a bridge, not a router.
    v2 = "1.3.111.2.802.1.1.13.1.3"
    local = neighbours_from_varbinds({
        "1.3.6.1.2.1.1.5.0": b"edge-7", f"{v2}.1.0": 5, f"{v2}.2.0": b"\x01\xc0\x00\x02\x07", f"{v2}.6.0": b"\x08\x00",
        "1.3.6.1.2.1.4.1.0": 2, "1.3.6.1.2.1.17.1.2.0": 0,
    }).local
    assert (local.chassis_id, local.sys_name, local.capabilities) == ("192.0.2.7", "edge-7", {"router"})
    assert (local.ip_forwarding, local.bridge, local.base_mac, local.addresses) == (False, False, None, ())
    # Nothing at all.
    local = neighbours_from_varbinds({}).local
    assert (local.chassis_id, local.sys_name, local.capabilities, local.sys_services) == (None, None, frozenset(), None)
    assert (local.ip_forwarding, local.bridge, local.addresses, local.base_mac) == (None, None, (), None)


def test_varbinds_in_any_form():
    values = {**interfaces(**{"1": "e1"}), **lldp_row("0.1.1")}
    as_tuples = {parse_oid(oid): value for oid, value in values.items()}
    as_varbinds = [VarBind(oid, 4, value) for oid, value in as_tuples.items()]
    as_varbinds.append(VarBind(parse_oid(f"{REM}.9.0.1.2"), 0x81, None))  # noSuchInstance: nothing
    results = {neighbours_from_varbinds(values), neighbours_from_varbinds(as_tuples), neighbours_from_varbinds(as_varbinds),
               neighbours_from_varbinds(list(as_tuples.items()))}
    assert len(results) == 1
    scalars, columns = split_varbinds({"1.3.6.1.2.1.1.5.0": b"x", "1.3.6.1.2.1.1.6.0": b"elsewhere", f"{CDP}.6.1.2": b"y"})
    assert scalars == {(1, 3, 6, 1, 2, 1, 1, 5, 0): b"x"}
    assert columns == {CDP_COLUMNS[3]: {(1, 2): b"y"}}


def test_column_oids():
    """The OIDs against the MIBs' numbering (LLDP-MIB, LLDP-V2-MIB: SysCapSupported is not read)."""
    assert [format_oid(c) for c in LLDP_V1.rem_columns] == [f"{REM}.{c}" for c in (4, 5, 6, 7, 8, 9, 10, 12)]
    assert [format_oid(c) for c in LLDP_V2.rem_columns] == [f"{V2REM}.{c}" for c in (5, 6, 7, 8, 9, 10, 11, 13)]
    assert format_oid(LLDP_V1.rem_man_addr) == MAN and format_oid(LLDP_V2.rem_man_addr) == V2MAN
    assert [format_oid(o) for o in LLDP_V1.local_scalars] == [f"{LOC}.{c}.0" for c in (1, 2, 3, 6)]


def test_lldp_mib_rows_in_either_index_form():
    """Newer firmware of some vendors indexes LLDP-MIB's lldpRemTable in LLDP-V2-MIB's form
    (timeMark.localPort.destAddressIndex.index): its neighbours are read, not dropped."""
    result = neighbours_from_varbinds({
        **interfaces(**{"1": "e1", "2": "e2"}),
        **lldp_row("0.1.1", name=b"old-form"),
        **lldp_row("0.2.1.7", name=b"new-form"),
    })
    assert {n.remote_name: n.local_port for n in result.neighbours} == {"old-form": "e1", "new-form": "e2"}
    assert result.skipped == ()
