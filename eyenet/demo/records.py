"""The demo devices as snmpsim recordings (.snmprec): every value an OID of the MIBs each
vendor really uses, moving ones as calls of the variation module (variation/eyenet_lab.py)."""

from __future__ import annotations

import math
from pathlib import Path

from eyenet.demo.devices import ETHERNET, SOFTWARE_LOOPBACK, SimDevice, SimInterface, hash_int, wave_phase
from eyenet.demo.variation import eyenet_lab as clock

MODULE = "eyenet_lab"


# ---------------------------------------------------------------------------
# OIDs (numeric, MIB names beside them)
# ---------------------------------------------------------------------------

SYSTEM = "1.3.6.1.2.1.1"  # SNMPv2-MIB system
IF_NUMBER = "1.3.6.1.2.1.2.1.0"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"  # IF-MIB ifTable
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"  # IF-MIB ifXTable
IF_TABLE_LAST_CHANGE = "1.3.6.1.2.1.31.1.5.0"
IP_FORWARDING = "1.3.6.1.2.1.4.1.0"
IP_ADDR_ENTRY = "1.3.6.1.2.1.4.20.1"  # IP-MIB ipAddrTable
DOT1D_BASE = "1.3.6.1.2.1.17.1"  # BRIDGE-MIB dot1dBase
HR_STORAGE_ENTRY = "1.3.6.1.2.1.25.2.3.1"  # HOST-RESOURCES-MIB hrStorageTable
HR_STORAGE_TYPES = "1.3.6.1.2.1.25.2.1"  # .1 other .2 ram .3 virtualMemory .4 fixedDisk
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
CPM_CPU_TOTAL_ENTRY = "1.3.6.1.4.1.9.9.109.1.1.1.1"  # CISCO-PROCESS-MIB cpmCPUTotalTable
CISCO_MEMORY_POOL_ENTRY = "1.3.6.1.4.1.9.9.48.1.1.1"  # CISCO-MEMORY-POOL-MIB
JNX_OPERATING_ENTRY = "1.3.6.1.4.1.2636.3.1.13.1"  # JUNIPER-MIB jnxOperatingTable
HP_SWITCH_CPU_STAT = "1.3.6.1.4.1.11.2.14.11.5.1.9.6.1.0"  # STATISTICS-MIB hpSwitchCpuStat
HP_LOCAL_MEM_ENTRY = "1.3.6.1.4.1.11.2.14.11.5.1.1.2.1.1.1"  # NETSWITCH-MIB hpLocalMemTable
UCD_MEMORY = "1.3.6.1.4.1.2021.4"  # UCD-SNMP-MIB memory
UCD_SYSTEM_STATS = "1.3.6.1.4.1.2021.11"  # UCD-SNMP-MIB systemStats
LLDP_LOC = "1.0.8802.1.1.2.1.3"  # LLDP-MIB lldpLocalSystemData
LLDP_REM_ENTRY = "1.0.8802.1.1.2.1.4.1.1"  # lldpRemTable
LLDP_REM_MAN_ADDR_ENTRY = "1.0.8802.1.1.2.1.4.2.1"  # lldpRemManAddrTable


# ---------------------------------------------------------------------------
# .snmprec writing
# ---------------------------------------------------------------------------


class _Records:
    def __init__(self) -> None:
        self.rows: dict[tuple[int, ...], tuple[str, str]] = {}

    def add(self, oid: str, tag: str, value) -> None:
        self.rows[tuple(int(x) for x in oid.split("."))] = (tag, str(value))

    def text(self, oid: str, value: str | bytes) -> None:
        raw = value.encode("utf-8") if isinstance(value, str) else value
        if raw and all(32 <= c < 127 and c != ord("|") for c in raw):
            self.add(oid, "4", raw.decode("ascii"))
        else:
            self.add(oid, "4x", raw.hex())

    def var(self, oid: str, tag: str, kind: str, **options) -> None:
        self.add(oid, f"{tag}:{MODULE}", clock.format_options(kind, **options))

    def write(self, path: Path) -> None:
        lines = [f"{'.'.join(map(str, oid))}|{tag}|{value}\n" for oid, (tag, value) in sorted(self.rows.items())]
        path.write_text("".join(lines), encoding="iso-8859-1")


def _counter(r: _Records, oid: str, bits: int, rate: float, itf: SimInterface, dev: SimDevice, phase: float, scale: float = 1.0,
             var: float | None = None) -> None:
    if rate <= 0:
        # frozen counter: what it counted before the lab started
        r.add(oid, "70" if bits == 64 else "65", int(hash_int(oid) % 10_000_000 * scale) % 2**bits)
        return
    period = itf.period
    if itf.in_lab_phase:  # the wave follows lab time: same curve at both ends of a link
        phase = (phase - 2 * math.pi * dev.boot / period) % (2 * math.pi)
    r.var(oid, "70" if bits == 64 else "65", "counter", rate=round(rate * scale, 6),
          var=itf.var if var is None else var, period=period, phase=round(phase, 6), boot=dev.boot,
          down=itf.down, bits=bits)


def device_records(dev: SimDevice, addresses: dict[str, str]) -> _Records:
    mgmt_address = addresses[dev.id]
    r = _Records()
    boot = dev.boot
    # -- system
    r.text(f"{SYSTEM}.1.0", dev.descr)
    r.add(f"{SYSTEM}.2.0", "6", dev.objid)
    r.var(f"{SYSTEM}.3.0", "67", "uptime", boot=boot)
    r.text(f"{SYSTEM}.4.0", "noc@eyenet.example")
    r.text(f"{SYSTEM}.5.0", dev.id)
    r.text(f"{SYSTEM}.6.0", dev.location)
    r.add(f"{SYSTEM}.7.0", "2", dev.services)
    r.add(f"{SYSTEM}.8.0", "67", 0)

    # -- interfaces
    r.add(IF_NUMBER, "2", len(dev.interfaces))
    flapping = [itf for itf in dev.interfaces if itf.changes]
    if flapping:
        r.var(IF_TABLE_LAST_CHANGE, "67", "lastchange", boot=boot, initial=max(i.last_change for i in dev.interfaces),
              at=sorted({t for itf in flapping for t in itf.changes}))
    else:
        r.add(IF_TABLE_LAST_CHANGE, "67", max(i.last_change for i in dev.interfaces))
    for itf in dev.interfaces:
        x = itf.index
        counting = itf.oper == 1
        rin = itf.rate_in if counting else 0.0
        rout = itf.rate_out if counting else 0.0
        speed_bps = itf.speed * 1_000_000
        r.add(f"{IF_ENTRY}.1.{x}", "2", x)
        r.text(f"{IF_ENTRY}.2.{x}", itf.descr)
        r.add(f"{IF_ENTRY}.3.{x}", "2", itf.type)
        r.add(f"{IF_ENTRY}.4.{x}", "2", itf.mtu)
        r.add(f"{IF_ENTRY}.5.{x}", "66", min(speed_bps, 2**32 - 1))
        r.add(f"{IF_ENTRY}.6.{x}", "4x", itf.mac.hex() if itf.type != SOFTWARE_LOOPBACK else "")
        r.add(f"{IF_ENTRY}.7.{x}", "2", itf.admin)
        if itf.down:
            r.var(f"{IF_ENTRY}.8.{x}", "2", "status", value=itf.oper, at=[(s, e, 2) for s, e in itf.down])
            r.var(f"{IF_ENTRY}.9.{x}", "67", "lastchange", boot=boot, initial=itf.last_change, at=itf.changes)
        else:
            r.add(f"{IF_ENTRY}.8.{x}", "2", itf.oper if itf.admin == 1 else 2)
            r.add(f"{IF_ENTRY}.9.{x}", "67", itf.last_change)
        pkt_in, pkt_out = 1.0 / 780.0, 1.0 / 910.0  # packets per byte (mean frame sizes)
        _counter(r, f"{IF_ENTRY}.10.{x}", 32, rin, itf, dev, itf.phase_in)
        _counter(r, f"{IF_ENTRY}.11.{x}", 32, rin, itf, dev, itf.phase_in, scale=pkt_in * 0.97)
        _counter(r, f"{IF_ENTRY}.12.{x}", 32, rin, itf, dev, itf.phase_in, scale=pkt_in * 0.03)
        _counter(r, f"{IF_ENTRY}.13.{x}", 32, itf.discards * 0.1 if counting else 0, itf, dev, 0.0, var=0.0)
        _counter(r, f"{IF_ENTRY}.14.{x}", 32, itf.errors if counting else 0, itf, dev, 0.0, var=0.0)
        r.add(f"{IF_ENTRY}.15.{x}", "65", 0)
        _counter(r, f"{IF_ENTRY}.16.{x}", 32, rout, itf, dev, itf.phase_out)
        _counter(r, f"{IF_ENTRY}.17.{x}", 32, rout, itf, dev, itf.phase_out, scale=pkt_out * 0.97)
        _counter(r, f"{IF_ENTRY}.18.{x}", 32, rout, itf, dev, itf.phase_out, scale=pkt_out * 0.03)
        _counter(r, f"{IF_ENTRY}.19.{x}", 32, itf.discards if counting else 0, itf, dev, 0.0, var=0.0)
        r.add(f"{IF_ENTRY}.20.{x}", "65", 0)
        r.add(f"{IF_ENTRY}.21.{x}", "66", 0)
        r.add(f"{IF_ENTRY}.22.{x}", "6", "0.0")
        # ifXTable
        r.text(f"{IFX_ENTRY}.1.{x}", itf.name)
        _counter(r, f"{IFX_ENTRY}.2.{x}", 32, rin, itf, dev, itf.phase_in, scale=pkt_in * 0.02)
        _counter(r, f"{IFX_ENTRY}.3.{x}", 32, rin, itf, dev, itf.phase_in, scale=pkt_in * 0.01)
        _counter(r, f"{IFX_ENTRY}.4.{x}", 32, rout, itf, dev, itf.phase_out, scale=pkt_out * 0.02)
        _counter(r, f"{IFX_ENTRY}.5.{x}", 32, rout, itf, dev, itf.phase_out, scale=pkt_out * 0.01)
        _counter(r, f"{IFX_ENTRY}.6.{x}", 64, rin, itf, dev, itf.phase_in)
        _counter(r, f"{IFX_ENTRY}.7.{x}", 64, rin, itf, dev, itf.phase_in, scale=pkt_in * 0.97)
        _counter(r, f"{IFX_ENTRY}.8.{x}", 64, rin, itf, dev, itf.phase_in, scale=pkt_in * 0.02)
        _counter(r, f"{IFX_ENTRY}.9.{x}", 64, rin, itf, dev, itf.phase_in, scale=pkt_in * 0.01)
        _counter(r, f"{IFX_ENTRY}.10.{x}", 64, rout, itf, dev, itf.phase_out)
        _counter(r, f"{IFX_ENTRY}.11.{x}", 64, rout, itf, dev, itf.phase_out, scale=pkt_out * 0.97)
        _counter(r, f"{IFX_ENTRY}.12.{x}", 64, rout, itf, dev, itf.phase_out, scale=pkt_out * 0.02)
        _counter(r, f"{IFX_ENTRY}.13.{x}", 64, rout, itf, dev, itf.phase_out, scale=pkt_out * 0.01)
        r.add(f"{IFX_ENTRY}.14.{x}", "2", 1 if itf.type == ETHERNET else 2)
        r.add(f"{IFX_ENTRY}.15.{x}", "66", itf.speed)
        r.add(f"{IFX_ENTRY}.16.{x}", "2", 2)
        r.add(f"{IFX_ENTRY}.17.{x}", "2", 1 if itf.type == ETHERNET else 2)
        r.text(f"{IFX_ENTRY}.18.{x}", itf.alias)
        r.add(f"{IFX_ENTRY}.19.{x}", "67", 0)

    # -- forwarding, bridge, management address
    r.add(IP_FORWARDING, "2", 1 if dev.forwarding else 2)
    ip = mgmt_address
    r.add(f"{IP_ADDR_ENTRY}.1.{ip}", "64x", bytes(int(o) for o in ip.split(".")).hex())
    r.add(f"{IP_ADDR_ENTRY}.2.{ip}", "2", dev.mgmt_if)
    r.add(f"{IP_ADDR_ENTRY}.3.{ip}", "64x", "ff000000" if ip.startswith("127.") else "ffffff00")
    r.add(f"{IP_ADDR_ENTRY}.4.{ip}", "2", 1)
    r.add(f"{IP_ADDR_ENTRY}.5.{ip}", "2", 18024)
    ethernet_ports = [i for i in dev.interfaces if i.type == ETHERNET]
    if dev.bridge:
        bridge_ports = [i for i in ethernet_ports if i.index != dev.interfaces[0].index or dev.vendor == "HPE Aruba"]
        r.add(f"{DOT1D_BASE}.1.0", "4x", dev.base_mac.hex())
        r.add(f"{DOT1D_BASE}.2.0", "2", len(bridge_ports))
        r.add(f"{DOT1D_BASE}.3.0", "2", 2)  # transparent-only
        for port, itf in enumerate(bridge_ports, start=1):
            r.add(f"{DOT1D_BASE}.4.1.1.{port}", "2", port)
            r.add(f"{DOT1D_BASE}.4.1.2.{port}", "2", itf.index)

    _cpu_memory(r, dev)
    _lldp(r, dev, addresses, ethernet_ports)
    return r


def _cpu_memory(r: _Records, dev: SimDevice) -> None:
    cpu = dict(dev.cpu)
    cpu.setdefault("phase", wave_phase(dev.id + "cpu"))
    cpu.setdefault("phase2", wave_phase(dev.id + "cpu2"))
    if dev.vendor == "Cisco":
        i = dev.extra["cpm_index"]
        r.add(f"{CPM_CPU_TOTAL_ENTRY}.2.{i}", "2", i)  # cpmCPUTotalPhysicalIndex (entPhysicalIndex)
        for column in (3, 4, 5):  # deprecated 5sec/1min/5min (Gauge32 0..100)
            r.var(f"{CPM_CPU_TOTAL_ENTRY}.{column}.{i}", "66", "gauge", **cpu)
        for column in (6, 7, 8):  # cpmCPUTotal5secRev, 1minRev, 5minRev
            r.var(f"{CPM_CPU_TOTAL_ENTRY}.{column}.{i}", "66", "gauge", **cpu)
        for n, (name, total, used) in enumerate(dev.extra["cisco_pools"], start=1):
            drift = dict(base=used, amp=used * 0.015, period=600.0, phase=wave_phase(dev.id + name))
            r.text(f"{CISCO_MEMORY_POOL_ENTRY}.2.{n}", name)
            r.add(f"{CISCO_MEMORY_POOL_ENTRY}.3.{n}", "2", 0)
            r.add(f"{CISCO_MEMORY_POOL_ENTRY}.4.{n}", "2", 1)  # valid
            r.var(f"{CISCO_MEMORY_POOL_ENTRY}.5.{n}", "66", "gauge", **drift)  # ciscoMemoryPoolUsed
            r.var(f"{CISCO_MEMORY_POOL_ENTRY}.6.{n}", "66", "gauge", sub=total, **drift)  # ciscoMemoryPoolFree
            r.add(f"{CISCO_MEMORY_POOL_ENTRY}.7.{n}", "66", int((total - used) * 0.8))  # largest free
    elif dev.vendor == "Juniper":
        rows = (("7.1.0.0", "FPC: EX2300-48P @ 0/*/*", 1024), ("9.1.0.0", "Routing Engine 0", 2048))
        for index, descr, dram in rows:
            r.text(f"{JNX_OPERATING_ENTRY}.5.{index}", descr)
            r.add(f"{JNX_OPERATING_ENTRY}.6.{index}", "2", 2)  # running
            r.add(f"{JNX_OPERATING_ENTRY}.7.{index}", "66", 46 if index.startswith("7") else 41)
            row_cpu = dict(cpu)
            if index.startswith("7"):
                row_cpu["base"] = cpu["base"] * 0.6
            r.var(f"{JNX_OPERATING_ENTRY}.8.{index}", "66", "gauge", **row_cpu)  # jnxOperatingCPU
            r.add(f"{JNX_OPERATING_ENTRY}.10.{index}", "66", 0)  # jnxOperatingDRAMSize (deprecated)
            r.var(f"{JNX_OPERATING_ENTRY}.11.{index}", "66", "gauge", base=52 if index.startswith("9") else 38,
                  amp=2.0, period=700.0, phase=wave_phase(dev.id + index))  # jnxOperatingBuffer %
            r.add(f"{JNX_OPERATING_ENTRY}.15.{index}", "66", dram)  # jnxOperatingMemory (MB)
    elif dev.vendor == "HPE Aruba":
        r.var(HP_SWITCH_CPU_STAT, "2", "gauge", **cpu)
        total, used = dev.extra["hp_mem"]
        used = dict(used, phase=wave_phase(dev.id + "mem"))
        r.add(f"{HP_LOCAL_MEM_ENTRY}.1.1", "2", 1)
        r.add(f"{HP_LOCAL_MEM_ENTRY}.2.1", "65", 3398)
        r.add(f"{HP_LOCAL_MEM_ENTRY}.3.1", "65", 1310)
        r.add(f"{HP_LOCAL_MEM_ENTRY}.4.1", "65", 2088)
        r.add(f"{HP_LOCAL_MEM_ENTRY}.5.1", "66", total)  # hpLocalMemTotalBytes
        r.var(f"{HP_LOCAL_MEM_ENTRY}.6.1", "66", "gauge", sub=total, **used)  # hpLocalMemFreeBytes
        r.var(f"{HP_LOCAL_MEM_ENTRY}.7.1", "66", "gauge", **used)  # hpLocalMemAllocBytes
    elif dev.vendor == "Arista":
        r.var(f"{HR_PROCESSOR_LOAD}.1", "2", "gauge", **cpu)
        ram = dev.extra["ram_kb"]
        used = dict(dev.extra["ram_used"], phase=wave_phase(dev.id + "ram"))
        _hr_storage(r, 1, "ram", "RAM", 1024, ram, used)
        _hr_storage(r, 2, "other", "RAM (Buffers)", 1024, ram, 312_000)
        _hr_storage(r, 3, "other", "RAM (Cache)", 1024, ram, 1_640_000)
        _hr_storage(r, 101, "fixedDisk", "Flash", 1024, 3_825_536, 1_402_112)
    else:  # Linux net-snmp
        cores = dev.extra["cores"]
        for n in range(cores):
            core = dict(cpu, phase=wave_phase(f"{dev.id}cpu{n}"), base=cpu["base"] + 3 * n)
            r.var(f"{HR_PROCESSOR_LOAD}.{196608 + n}", "2", "gauge", **core)
        ram = dev.extra["ram_kb"]
        used = dict(base=6_900_000, amp=250_000, period=400.0, phase=wave_phase(dev.id + "ram"))
        buffers, cached = 412_000, 5_100_000
        _hr_storage(r, 1, "ram", "Physical memory", 1024, ram,
                    dict(used, base=used["base"] + buffers + cached))
        _hr_storage(r, 3, "virtualMemory", "Virtual memory", 1024, ram + 999_420,
                    dict(used, base=used["base"] + buffers + cached + 12_000))
        _hr_storage(r, 6, "other", "Memory buffers", 1024, ram, buffers)
        _hr_storage(r, 7, "other", "Cached memory", 1024, cached, cached)
        _hr_storage(r, 10, "virtualMemory", "Swap space", 1024, 999_420, 12_000)
        _hr_storage(r, 31, "fixedDisk", "/", 4096, 24_116_743, 6_212_000)
        # UCD-SNMP-MIB memory (kB, INTEGER)
        r.add(f"{UCD_MEMORY}.1.0", "2", 0)
        r.text(f"{UCD_MEMORY}.2.0", "swap")
        r.add(f"{UCD_MEMORY}.3.0", "2", 999_420)  # memTotalSwap
        r.add(f"{UCD_MEMORY}.4.0", "2", 987_420)  # memAvailSwap
        r.add(f"{UCD_MEMORY}.5.0", "2", ram)  # memTotalReal
        avail = dict(used, sub=ram - buffers - cached)
        r.var(f"{UCD_MEMORY}.6.0", "2", "gauge", **avail)  # memAvailReal (free)
        r.var(f"{UCD_MEMORY}.11.0", "2", "gauge", **dict(avail, sub=ram - buffers - cached + 987_420))
        r.add(f"{UCD_MEMORY}.12.0", "2", 16_000)  # memMinimumSwap
        r.add(f"{UCD_MEMORY}.13.0", "2", 98_000)  # memShared
        r.add(f"{UCD_MEMORY}.14.0", "2", buffers)  # memBuffer
        r.add(f"{UCD_MEMORY}.15.0", "2", cached)  # memCached
        r.add(f"{UCD_MEMORY}.100.0", "2", 0)  # memSwapError
        # systemStats: percentages consistent with the mean load
        mean = dict(cpu, base=cpu["base"] + 1.5 * (cores - 1))
        r.add(f"{UCD_SYSTEM_STATS}.1.0", "2", 1)
        r.text(f"{UCD_SYSTEM_STATS}.2.0", "systemStats")
        r.var(f"{UCD_SYSTEM_STATS}.9.0", "2", "gauge", **dict(mean, scale=0.7))  # ssCpuUser
        r.var(f"{UCD_SYSTEM_STATS}.10.0", "2", "gauge", **dict(mean, scale=0.3))  # ssCpuSystem
        r.var(f"{UCD_SYSTEM_STATS}.11.0", "2", "gauge", **dict(mean, sub=100))  # ssCpuIdle


def _hr_storage(r: _Records, index: int, kind: str, descr: str, units: int, size: int, used) -> None:
    types = {"other": 1, "ram": 2, "virtualMemory": 3, "fixedDisk": 4}
    r.add(f"{HR_STORAGE_ENTRY}.1.{index}", "2", index)
    r.add(f"{HR_STORAGE_ENTRY}.2.{index}", "6", f"{HR_STORAGE_TYPES}.{types[kind]}")
    r.text(f"{HR_STORAGE_ENTRY}.3.{index}", descr)
    r.add(f"{HR_STORAGE_ENTRY}.4.{index}", "2", units)
    r.add(f"{HR_STORAGE_ENTRY}.5.{index}", "2", size)
    if isinstance(used, dict):
        r.var(f"{HR_STORAGE_ENTRY}.6.{index}", "2", "gauge", **used)
    else:
        r.add(f"{HR_STORAGE_ENTRY}.6.{index}", "2", used)
    r.add(f"{HR_STORAGE_ENTRY}.7.{index}", "65", 0)


def _lldp(r: _Records, dev: SimDevice, addresses: dict[str, str], ports: list[SimInterface]) -> None:
    r.add(f"{LLDP_LOC}.1.0", "2", 4)  # lldpLocChassisIdSubtype: macAddress
    r.add(f"{LLDP_LOC}.2.0", "4x", dev.base_mac.hex())
    r.text(f"{LLDP_LOC}.3.0", dev.id)
    r.text(f"{LLDP_LOC}.4.0", dev.descr)
    r.add(f"{LLDP_LOC}.5.0", "4x", f"{dev.caps_supported:02x}")
    r.add(f"{LLDP_LOC}.6.0", "4x", f"{dev.caps_enabled:02x}")
    for itf in ports:
        n = itf.index  # lldpLocPortNum = ifIndex
        r.add(f"{LLDP_LOC}.7.1.2.{n}", "2", 5)  # lldpLocPortIdSubtype: interfaceName
        r.text(f"{LLDP_LOC}.7.1.3.{n}", itf.name)
        r.text(f"{LLDP_LOC}.7.1.4.{n}", itf.alias or itf.descr)
    addr_index = f"1.4.{addresses[dev.id]}"
    r.add(f"{LLDP_LOC}.8.1.3.{addr_index}", "2", 5)  # lldpLocManAddrLen (subtype + 4 octets)
    r.add(f"{LLDP_LOC}.8.1.4.{addr_index}", "2", 2)  # lldpLocManAddrIfSubtype: ifIndex
    r.add(f"{LLDP_LOC}.8.1.5.{addr_index}", "2", dev.mgmt_if)
    r.add(f"{LLDP_LOC}.8.1.6.{addr_index}", "6", "1.3.6.1.2.1.2.2.1.1")
    for itf in ports:
        if itf.neighbour is None:
            continue
        other_dev, other = itf.neighbour
        index = f"0.{itf.index}.1"  # lldpRemTimeMark.lldpRemLocalPortNum.lldpRemIndex
        absent = itf.lldp_absent

        def rem(column: int, tag: str, value: str) -> None:
            oid = f"{LLDP_REM_ENTRY}.{column}.{index}"
            if absent:
                r.var(oid, tag, "const", absent=absent, v=value)
            else:
                r.add(oid, tag, value)

        def rem_text(column: int, value: str) -> None:
            raw = value.encode()
            if all(32 <= c < 127 and c not in (ord("|"), ord(",")) for c in raw):
                rem(column, "4", value)
            else:
                rem(column, "4x", raw.hex())

        rem(4, "2", "4")  # lldpRemChassisIdSubtype: macAddress
        rem(5, "4x", other_dev.base_mac.hex())
        rem(6, "2", "5")  # lldpRemPortIdSubtype: interfaceName
        rem_text(7, other.name)
        rem_text(8, other.alias or other.descr)
        rem_text(9, other_dev.id)
        rem_text(10, other_dev.descr)
        rem(11, "4x", f"{other_dev.caps_supported:02x}")
        rem(12, "4x", f"{other_dev.caps_enabled:02x}")
        man = f"{LLDP_REM_MAN_ADDR_ENTRY}.{{}}.{index}.1.4.{addresses[other_dev.id]}"
        for column, tag, value in ((3, "2", "2"), (4, "2", str(other_dev.mgmt_if)), (5, "6", "1.3.6.1.2.1.2.2.1.1")):
            oid = man.format(column)
            if absent:
                r.var(oid, tag, "const", absent=absent, v=value)
            else:
                r.add(oid, tag, value)
