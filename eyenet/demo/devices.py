"""The demo lab's devices: what each is, its interfaces, its links, and what happens when.

Everything is generated (no recordings): the devices'
system group, IF-MIB ifTable/ifXTable, the CPU and memory MIBs each vendor
really uses, LLDP-MIB local and remote tables, a bridge or forwarding signal,
and a management address.

Topology (LLDP sees every link from both ends)::

                      WAN (Gi0/0/0, ISP-A)
                             |
                    core-rtr-01  Cisco ASR1001-X, IOS-XE (router)
                   Te0/0/0  Te0/0/1
                   /               \\
     Ethernet49/1                   Ethernet49/1
     dist-sw-01  ==Ethernet50/1==  dist-sw-02    Arista DCS-7050SX3, EOS (L3 switches)
     Ethernet1..4, 10              Ethernet1..4, 10
        |   each access switch and the server has one uplink to each
        |
     acc-sw-01   Cisco C9300-48P, IOS-XE      Te1/1/1 -> dist-sw-01, Te1/1/2 -> dist-sw-02
     acc-sw-02   Cisco C9300-48P, IOS-XE      (same)
     acc-sw-03   Juniper EX2300-48P, Junos    xe-0/1/0, xe-0/1/1
     acc-sw-04   Aruba 2930F (ArubaOS-Switch) 49, 50
     srv-mon-01  Linux, net-snmp (endpoint)   eth0, eth1

Schedule, in seconds of lab time (since the lab started):

* always: counters grow at rates that vary over time (uplinks carry tens of
  MB/s and wrap their 32-bit octet counters every few minutes, access ports
  tens of kB/s to a few MB/s); CPU waves between 10 % and 35 % (core router)
  or lower; memory drifts a little.
* t = 40 .. 100: core-rtr-01's CPU is at 95 % (cpmCPUTotal5sec/1min/5minRev).
* t = 60 .. 90: the link acc-sw-02 Te1/1/1 <-> dist-sw-01 Ethernet2 is down:
  ifOperStatus 2 at both ends, ifLastChange (and ifTableLastChange) set at 60
  and again at 90, no traffic counted, and the LLDP neighbour entries of that
  link gone from both devices.

All values are functions of the lab time (see variation/eyenet_lab.py), so a
lab started with ``start_time`` in the past is already that far into its
schedule, and restarting the simulator with the same start time continues the
counters where they were. Starting it with a new start time looks, to a
poller, like every device rebooted (sysUpTime goes back): that is what it is.
"""

from __future__ import annotations

from typing import Sequence

import attrs

#: What happens when, in lab seconds (documented in the module docstring).
SCHEDULE = {
    "cpu_spike": {"device": "core-rtr-01", "start": 40.0, "end": 100.0, "cpu": 95},
    "link_flap": {
        "a": ("acc-sw-02", "Te1/1/1"),
        "b": ("dist-sw-01", "Ethernet2"),
        "start": 60.0,
        "end": 90.0,
    },
}

DAY = 86400.0

# LldpSystemCapabilitiesMap (BITS: bit 0 is the high bit of the first octet)
CAP_BRIDGE = 0x20
CAP_ROUTER = 0x08
CAP_STATION = 0x01

# ifType
ETHERNET = 6
SOFTWARE_LOOPBACK = 24
PROP_VIRTUAL = 53
L3_VLAN = 136
OTHER = 1


# ---------------------------------------------------------------------------
# device models
# ---------------------------------------------------------------------------


@attrs.define
class SimInterface:
    index: int
    name: str  # ifName
    descr: str  # ifDescr
    type: int = ETHERNET
    speed: int = 1000  # Mbit/s
    mtu: int = 1500
    alias: str = ""
    admin: int = 1
    oper: int = 1
    rate_in: float = 0.0  # bytes/s on average; 0 = counters frozen
    rate_out: float = 0.0
    var: float = 0.5  # relative amplitude of the 5-minute wave
    period: float = 300.0
    phase_in: float = 0.0
    phase_out: float = 0.0
    errors: float = 0.0  # ifInErrors a second
    discards: float = 0.0  # ifOutDiscards a second
    down: list = attrs.Factory(list)  # lab-time windows without link
    changes: list = attrs.Factory(list)  # lab times of ifLastChange events
    last_change: int = 0  # ifLastChange (ticks) before any event
    mac: bytes = b""
    neighbour: tuple | None = None  # (SimDevice, SimInterface)
    lldp_absent: list = attrs.Factory(list)
    in_lab_phase: bool = False  # phases are in lab time (links): convert to device time


@attrs.define
class SimDevice:
    id: str
    role: str
    vendor: str
    model: str
    descr: str
    objid: str
    services: int
    boot: float  # seconds up when the lab starts
    base_mac: bytes
    location: str
    forwarding: bool
    bridge: bool
    caps_supported: int
    caps_enabled: int
    cpu: dict  # gauge options
    interfaces: list = attrs.Factory(list)
    mgmt_if: int = 0
    extra: dict = attrs.Factory(dict)

    def iface(self, name: str) -> SimInterface:
        for itf in self.interfaces:
            if itf.name == name:
                return itf
        raise KeyError(f"{self.id} has no interface {name}")

    def add(self, index: int, name: str, descr: str | None = None, **kw) -> SimInterface:
        mac = self.base_mac[:5] + bytes([(self.base_mac[5] + index) % 256])
        itf = SimInterface(index, name, descr or name, mac=mac, **kw)
        self.interfaces.append(itf)
        return itf


def _mac(text: str) -> bytes:
    return bytes(int(x, 16) for x in text.split(":"))


def wave_phase(seed: str) -> float:
    """A fixed pseudo-random phase in [0, 2 pi) from a name (stable across runs)."""
    h = 0
    for ch in seed.encode():
        h = (h * 131 + ch) % 1_000_003
    return (h % 6283) / 1000.0


def _user_ports(dev: SimDevice, names: Sequence[tuple[int, str, str]], up_every: int = 3) -> None:
    """Access ports: most up with light traffic, some down (nothing plugged in)."""
    for n, (index, name, descr) in enumerate(names, start=1):
        up = n % up_every != 0
        seed = f"{dev.id}/{name}"
        level = 20_000 + (hash_int(seed) % 1_500_000)
        dev.add(
            index, name, descr, speed=1000,
            alias=f"user port {n}" if up else "",
            oper=1 if up else 2,
            rate_in=level * 0.3 if up else 0.0,
            rate_out=level if up else 0.0,
            var=0.6, period=120.0 + hash_int(seed) % 300,
            phase_in=wave_phase(seed + "in"), phase_out=wave_phase(seed + "out"),
            errors=0.002 if n % 7 == 1 else 0.0,
            discards=0.01 if up else 0.0,
            last_change=int((dev.boot - 3600 * (1 + n % 20)) * 100) % 2**32 if up else 300,
        )


def hash_int(text: str) -> int:
    h = 0
    for ch in text.encode():
        h = (h * 257 + ch) % 2_147_483_647
    return h


def device_list() -> list[SimDevice]:
    devs = []

    core = SimDevice(
        "core-rtr-01", "router", "Cisco", "ASR1001-X",
        "Cisco IOS Software [Cupertino], ASR1000 Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), "
        "Version 17.9.4a, RELEASE SOFTWARE (fc3)\r\nTechnical Support: http://www.cisco.com/techsupport\r\n"
        "Copyright (c) 1986-2023 by Cisco Systems, Inc.\r\nCompiled Fri 20-Oct-23 10:44 by mcpre",
        "1.3.6.1.4.1.9.1.1861", 78, 41 * DAY + 6 * 3600 + 17 * 60, _mac("70:6d:15:3a:8c:00"),
        "HQ, MDF rack A1", True, False, CAP_ROUTER | CAP_BRIDGE, CAP_ROUTER,
        cpu=dict(base=22.0, amp=8.0, period=180.0, amp2=5.0, period2=37.0, lo=10, hi=35),
    )
    core.add(1, "Gi0/0/0", "GigabitEthernet0/0/0", speed=1000, alias="WAN: ISP-A 1G DIA circuit 4471-XK",
             rate_in=38_000_000, rate_out=14_000_000, var=0.35, errors=0.01, discards=0.2,
             phase_in=1.1, phase_out=2.3, last_change=3100)
    core.add(2, "Gi0/0/1", "GigabitEthernet0/0/1", alias="WAN: ISP-B backup", rate_in=40_000, rate_out=25_000,
             last_change=3150)
    for i in range(2, 6):
        core.add(i + 1, f"Gi0/0/{i}", f"GigabitEthernet0/0/{i}", admin=2, oper=2, last_change=2900)
    core.add(7, "Te0/0/0", "TenGigabitEthernet0/0/0", speed=10000, mtu=9216)
    core.add(8, "Te0/0/1", "TenGigabitEthernet0/0/1", speed=10000, mtu=9216)
    core.add(9, "Gi0", "GigabitEthernet0", alias="OOB management", rate_in=3_000, rate_out=9_000, last_change=2800)
    core.add(10, "Nu0", "Null0", type=OTHER, speed=10000, oper=1, mtu=1500)
    core.add(11, "Lo0", "Loopback0", type=SOFTWARE_LOOPBACK, speed=8000, mtu=1514, alias="router-id")
    core.mgmt_if = 11
    core.extra = {"cisco_pools": [("Processor", 1_795_162_112, 468_000_000), ("lsmpi_io", 6_295_128, 6_294_304)],
                  "cpm_index": 7}
    devs.append(core)

    for n, (mac, boot) in enumerate((("44:4c:a8:b1:20:00", 118 * DAY + 3 * 3600),
                                     ("44:4c:a8:b1:62:00", 118 * DAY + 2 * 3600 + 1800)), start=1):
        d = SimDevice(
            f"dist-sw-0{n}", "switch", "Arista", "DCS-7050SX3-48YC12",
            "Arista Networks EOS version 4.30.4M running on an Arista Networks DCS-7050SX3-48YC12",
            "1.3.6.1.4.1.30065.1.3011.7050.3735.48.3328.12", 6, boot, _mac(mac),
            f"HQ, MDF rack A{n + 1}", True, True, CAP_BRIDGE | CAP_ROUTER, CAP_BRIDGE | CAP_ROUTER,
            cpu=dict(base=9.0 + n, amp=3.0, period=240.0, amp2=1.5, period2=29.0, lo=2, hi=40),
        )
        for i in range(1, 49):
            d.add(i, f"Ethernet{i}", speed=10000 if i <= 10 else 25000, mtu=9214, oper=1 if i <= 10 else 2,
                  alias="" if i <= 10 else "", last_change=500)
        for port in (49, 50, 51, 52):
            d.add(port * 1000 + 1, f"Ethernet{port}/1", speed=100000, mtu=9214,
                  oper=1 if port <= 50 else 2, last_change=500)
        d.add(999001, "Management1", type=ETHERNET, speed=1000, alias="OOB", rate_in=2_000, rate_out=6_000,
              last_change=450)
        d.add(5000, "Loopback0", type=SOFTWARE_LOOPBACK, speed=0, mtu=65535)
        d.add(5010, "Vlan10", type=PROP_VIRTUAL, speed=0, mtu=1500, alias="users")
        d.mgmt_if = 5000
        d.extra = {"ram_kb": 8_039_352, "ram_used": dict(base=3_900_000, amp=120_000, period=900.0)}
        devs.append(d)
        # unused 10G ports within 1..10 stay down
        for i in (5, 6, 7, 8, 9):
            d.iface(f"Ethernet{i}").oper = 2

    for n, (mac, boot) in enumerate((("a0:f8:49:7e:11:80", 63 * DAY + 5 * 3600),
                                     ("a0:f8:49:7e:3c:00", 63 * DAY + 4 * 3600 + 1200)), start=1):
        d = SimDevice(
            f"acc-sw-0{n}", "switch", "Cisco", "C9300-48P",
            "Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.9.4a, "
            "RELEASE SOFTWARE (fc3)\r\nTechnical Support: http://www.cisco.com/techsupport\r\n"
            "Copyright (c) 1986-2023 by Cisco Systems, Inc.\r\nCompiled Fri 20-Oct-23 10:44 by mcpre",
            "1.3.6.1.4.1.9.1.2494", 2, boot, _mac(mac),
            f"HQ, floor {n}, IDF {n}", False, True, CAP_BRIDGE | CAP_ROUTER, CAP_BRIDGE,
            cpu=dict(base=6.0 + 2 * n, amp=3.0, period=200.0, amp2=1.0, period2=23.0, lo=1, hi=30),
        )
        d.add(1, "Gi0/0", "GigabitEthernet0/0", alias="OOB", oper=2, last_change=0)
        _user_ports(d, [(8 + i, f"Gi1/0/{i}", f"GigabitEthernet1/0/{i}") for i in range(1, 49)])
        for i in range(1, 5):
            d.add(56 + i, f"Te1/1/{i}", f"TenGigabitEthernet1/1/{i}", speed=10000, mtu=9198,
                  oper=1 if i <= 2 else 2, last_change=6000)
        d.add(70, "Vl1", "Vlan1", type=PROP_VIRTUAL, speed=1000, admin=2, oper=2)
        d.add(71, "Vl10", "Vlan10", type=PROP_VIRTUAL, speed=1000, alias="management",
              rate_in=1_500, rate_out=4_000)
        d.mgmt_if = 71
        d.extra = {"cisco_pools": [("Processor", 1_377_558_528, 372_000_000), ("lsmpi_io", 6_295_128, 6_294_304)],
                   "cpm_index": 1000}
        devs.append(d)

    jnx = SimDevice(
        "acc-sw-03", "switch", "Juniper", "EX2300-48P",
        "Juniper Networks, Inc. ex2300-48p Ethernet Switch, kernel JUNOS 22.4R3-S2.11, "
        "Build date: 2024-02-15 03:18:44 UTC Copyright (c) 1996-2024 Juniper Networks, Inc.",
        "1.3.6.1.4.1.2636.1.1.1.2.132", 6, 27 * DAY + 11 * 3600, _mac("84:c1:c1:5b:e2:00"),
        "HQ, floor 3, IDF 3", False, True, CAP_BRIDGE | CAP_ROUTER, CAP_BRIDGE,
        cpu=dict(base=14.0, amp=6.0, period=150.0, amp2=2.0, period2=31.0, lo=3, hi=45),
    )
    jnx.add(1, "me0", oper=2, last_change=0)
    _user_ports(jnx, [(500 + i, f"ge-0/0/{i}", f"ge-0/0/{i}") for i in range(0, 48)])
    jnx.add(560, "xe-0/1/0", speed=10000, mtu=9216, last_change=9000)
    jnx.add(561, "xe-0/1/1", speed=10000, mtu=9216, last_change=9000)
    jnx.add(562, "xe-0/1/2", speed=10000, oper=2, last_change=9000)
    jnx.add(563, "xe-0/1/3", speed=10000, oper=2, last_change=9000)
    jnx.add(6, "lo0", type=SOFTWARE_LOOPBACK, speed=0, mtu=65535)
    jnx.add(700, "irb.10", type=PROP_VIRTUAL, speed=1000, alias="management", rate_in=1_200, rate_out=3_500)
    jnx.mgmt_if = 700
    devs.append(jnx)

    aruba = SimDevice(
        "acc-sw-04", "switch", "HPE Aruba", "2930F-48G-PoE+-4SFP+ (JL256A)",
        "Aruba JL256A 2930F-48G-PoE+-4SFP+ Switch, revision WC.16.11.0016, ROM WC.16.01.0010 "
        "(/ws/swbuildm/rel_hartford_qaoff/code/build/anm(swbuildm_rel_hartford_qaoff_rel_hartford))",
        "1.3.6.1.4.1.11.2.3.7.11.181.18", 2, 203 * DAY + 7 * 3600, _mac("94:60:d5:2c:41:00"),
        "Warehouse, IDF W1", False, True, CAP_BRIDGE | CAP_ROUTER, CAP_BRIDGE,
        cpu=dict(base=5.0, amp=3.0, period=170.0, amp2=1.0, period2=19.0, lo=1, hi=25),
    )
    _user_ports(aruba, [(i, str(i), str(i)) for i in range(1, 49)])
    aruba.add(49, "49", speed=10000, mtu=1500, last_change=12000)
    aruba.add(50, "50", speed=10000, mtu=1500, last_change=12000)
    aruba.add(51, "51", speed=10000, oper=2, last_change=0)
    aruba.add(52, "52", speed=10000, oper=2, last_change=0)
    aruba.add(65, "DEFAULT_VLAN", type=PROP_VIRTUAL, speed=0, admin=1, oper=1, alias="management",
              rate_in=1_000, rate_out=2_500)
    aruba.mgmt_if = 65
    aruba.extra = {"hp_mem": (341_221_376, dict(base=172_000_000, amp=2_000_000, period=600.0))}
    devs.append(aruba)

    srv = SimDevice(
        "srv-mon-01", "endpoint", "Linux", "x86_64 server (net-snmp)",
        "Linux srv-mon-01 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) x86_64",
        "1.3.6.1.4.1.8072.3.2.10", 72, 12 * DAY + 9 * 3600 + 7 * 60, _mac("3c:ec:ef:10:2a:40"),
        "HQ, MDF rack B2", False, False, CAP_STATION | CAP_BRIDGE | CAP_ROUTER, CAP_STATION,
        cpu=dict(base=18.0, amp=9.0, period=90.0, amp2=4.0, period2=17.0, lo=2, hi=60),
    )
    srv.add(1, "lo", type=SOFTWARE_LOOPBACK, speed=10, mtu=65536, rate_in=60_000, rate_out=60_000)
    srv.add(2, "eth0", speed=10000, mtu=1500)
    srv.add(3, "eth1", speed=10000, mtu=1500)
    srv.add(4, "bond0", type=ETHERNET, speed=20000, mtu=1500, alias="")
    srv.mgmt_if = 4
    srv.extra = {"ram_kb": 16_318_064, "cores": 4}
    devs.append(srv)
    return devs


# (a, a port, b, b port, bytes/s a->b, bytes/s b->a)
LINKS = (
    ("core-rtr-01", "Te0/0/0", "dist-sw-01", "Ethernet49/1", 9_000_000, 26_000_000),
    ("core-rtr-01", "Te0/0/1", "dist-sw-02", "Ethernet49/1", 6_000_000, 15_000_000),
    ("dist-sw-01", "Ethernet50/1", "dist-sw-02", "Ethernet50/1", 2_500_000, 2_200_000),
    ("dist-sw-01", "Ethernet1", "acc-sw-01", "Te1/1/1", 21_000_000, 6_500_000),
    ("dist-sw-02", "Ethernet1", "acc-sw-01", "Te1/1/2", 12_000_000, 4_000_000),
    ("dist-sw-01", "Ethernet2", "acc-sw-02", "Te1/1/1", 17_000_000, 5_000_000),
    ("dist-sw-02", "Ethernet2", "acc-sw-02", "Te1/1/2", 9_000_000, 3_000_000),
    ("dist-sw-01", "Ethernet3", "acc-sw-03", "xe-0/1/0", 11_000_000, 3_500_000),
    ("dist-sw-02", "Ethernet3", "acc-sw-03", "xe-0/1/1", 7_000_000, 2_500_000),
    ("dist-sw-01", "Ethernet4", "acc-sw-04", "49", 5_000_000, 1_800_000),
    ("dist-sw-02", "Ethernet4", "acc-sw-04", "50", 3_000_000, 1_100_000),
    ("dist-sw-01", "Ethernet10", "srv-mon-01", "eth0", 1_200_000, 3_800_000),
    ("dist-sw-02", "Ethernet10", "srv-mon-01", "eth1", 900_000, 2_600_000),
)


def build_devices() -> list[SimDevice]:
    devs = device_list()
    by_id = {d.id: d for d in devs}
    flap = SCHEDULE["link_flap"]
    flap_ends = {flap["a"], flap["b"]}
    for a_id, a_port, b_id, b_port, ab, ba in LINKS:
        a, b = by_id[a_id], by_id[b_id]
        ia, ib = a.iface(a_port), b.iface(b_port)
        seed = f"{a_id}/{a_port}"
        phase_ab, phase_ba = wave_phase(seed + ">"), wave_phase(seed + "<")
        for dev, itf, other_dev, other in ((a, ia, b, ib), (b, ib, a, ia)):
            itf.neighbour = (other_dev, other)
            if not itf.alias:
                itf.alias = f"uplink: {other_dev.id} {other.name}"
            itf.oper = 1
            itf.var = 0.4
            itf.period = 300.0
            itf.in_lab_phase = True
            itf.discards = 0.05
            itf.last_change = int((dev.boot - 2 * 3600) * 100) % 2**32
        ia.rate_out, ia.rate_in, ia.phase_out, ia.phase_in = ab, ba, phase_ab, phase_ba
        ib.rate_in, ib.rate_out, ib.phase_in, ib.phase_out = ab, ba, phase_ab, phase_ba
        if (a_id, a_port) in flap_ends and (b_id, b_port) in flap_ends:
            window = (flap["start"], flap["end"])
            for itf in (ia, ib):
                itf.down = [window]
                itf.changes = list(window)
                itf.lldp_absent = [window]
    # uplinks of the server and bond
    srv = by_id["srv-mon-01"]
    bond = srv.iface("bond0")
    bond.rate_in = srv.iface("eth0").rate_in + srv.iface("eth1").rate_in
    bond.rate_out = srv.iface("eth0").rate_out + srv.iface("eth1").rate_out
    bond.var, bond.period = 0.3, 300.0
    spike = SCHEDULE["cpu_spike"]
    by_id[spike["device"]].cpu["at"] = [(spike["start"], spike["end"], spike["cpu"])]
    return devs
