"""LibreNMS' expectations for the device recordings, and what EyeNet's figures stand for.

Plain Python (no pytest), like ``agents.py``. For each recording in tests/data/librenms:
which of LibreNMS' processors and memory pools EyeNet's single ``cpu`` and ``memory``
stand for (docs/devices.md says why, family by family), which interfaces LibreNMS' per-OS
filters leave out (its default ones are EyeNet's `ignored`), and the few places where LibreNMS' own figure is not comparable, each
with its reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import agents

Row = dict[str, Any]


def expected(name: str, testdata_dir: Path = agents.TESTDATA_DIR) -> dict:
    return json.loads((testdata_dir / "librenms-expected" / f"{name}.json").read_text())


def section(data: dict, module: str, key: str) -> list[Row]:
    """The rows LibreNMS stored after polling (its discovery's where the poller matches it);
    [] when the module is not in the expectations."""
    if module not in data:
        return []
    part = data[module]["poller"]
    if part == "matches discovery":
        part = data[module]["discovery"]
    return part.get(key, [])


def _family(table: dict[str, Any], name: str, default: Any = None) -> Any:
    """The entry of the longest key that the recording's name starts with."""
    keys = [k for k in table if name.startswith(k)]
    return table[max(keys, key=len)] if keys else default


# -- CPU ----------------------------------------------------------------------------

# The processor rows EyeNet's cpu stands for, where not every row LibreNMS lists (averaged).
CPU_ROWS: dict[str, Callable[[Row], bool]] = {
    # fgSysCpuUsage (the dashboard's figure); LibreNMS lists each core beside it.
    "fortigate": lambda r: r["processor_type"] == "fortigate-fixed",
    # The routing engine(s) (`show chassis routing-engine`); FPCs and SPUs are line cards.
    "junos": lambda r: "Routing Engine" in r["processor_descr"],
    # The route processor's XR VM (`show processes cpu` on the RP); not the admin VM, nor line cards.
    "iosxr": lambda r: "RP XR" in r["processor_descr"],
    # The 5-minute figure, as for Cisco IOS; LibreNMS lists the 1-minute one too.
    "dnos": lambda r: r["processor_descr"].startswith("5m"),
    # The slots' CPUs (SAOS 8's CIENA-CES-CHASSIS-MIB); the system's last 5/10/60 s figures
    # of SAOS 6's MIB are a fallback for agents without the per-slot table.
    "ciena-sds": lambda r: r["processor_descr"].startswith("Slot "),
}

# Recordings where LibreNMS lists no processor: what EyeNet reads instead, and why.
NO_LIBRENMS_CPU: dict[str, tuple[float | None, str]] = {
    "asa": (None, "the recording holds no CISCO-PROCESS-MIB rows: EyeNet gives a reason, LibreNMS nothing"),
    "boss_ers4950": (19.0, "LibreNMS' ERS code walks s5ChasUtilCPUUsageLast10Minutes (19 % here) but stores "
                           "no processor; EyeNet reads that column"),
    "sonicwall_sonicos7": (None, "the recording holds no sonicCurrentCPUUtil: EyeNet gives a reason, LibreNMS nothing"),
}


def librenms_processors(name: str, data: dict) -> list[Row]:
    """LibreNMS' processor rows EyeNet's cpu stands for."""
    rows = section(data, "processors", "processors")
    pick = _family(CPU_ROWS, name)
    return [r for r in rows if pick(r)] if pick is not None else rows


# Recordings where LibreNMS lists each core (CISCO-PROCESS-MIB cpmCoreTable, indexed CPU.core)
# and EyeNet each CPU (cpmCPUTotalTable, as `show processes cpu` per switch): its cores, averaged.
CORES_OF_A_CPU = ("iosxe",)


def librenms_processor_figures(name: str, data: dict) -> list[float]:
    """The figures of the processors EyeNet's cpu stands for, one per component EyeNet lists."""
    rows = librenms_processors(name, data)
    if _family(dict.fromkeys(CORES_OF_A_CPU, True), name, False):
        cpus: dict[str, list[float]] = {}
        for r in rows:
            cpus.setdefault(r["processor_index"].split(".")[0], []).append(r["processor_usage"])
        return [sum(v) / len(v) for v in cpus.values()]
    return [r["processor_usage"] for r in rows]


def librenms_cpu(name: str, data: dict) -> float | None:
    rows = librenms_processors(name, data)
    return sum(r["processor_usage"] for r in rows) / len(rows) if rows else None


# -- memory -------------------------------------------------------------------------

# The pools EyeNet's memory stands for (mempool_descr, searched); several are pooled.
MEMPOOLS: dict[str, str] = {
    "arista": r"^RAM$",
    # hrStorageTable's RAM row, less buffers and cache (as `free` counts "used").
    "arubaos-cx": r"^Physical memory$", "awplus": r"^Physical memory$", "cumulus": r"^Physical memory$",
    "dell-os10": r"^Physical memory$", "dell-sonic": r"^Physical memory$", "gaia": r"^Physical memory$",
    "linux": r"^Physical memory$", "routeros": r"^main memory$", "vmware-esxi": r"^Real Memory$",
    # The box's "System memory" (`show memory`); the MEMPOOL_* heaps are inside it.
    "asa": r"^Chassis - System Memory$",
    # Cisco: the processor pools (`show memory statistics` "Processor"); I/O holds packet buffers.
    # IOS-XE's "reserve Processor" (cempMemPoolType 1, other; not processorMemory) is left out, as EyeNet does.
    "ios_": r"^Processor$", "iosxe": r"(?i)(?<!reserve )\bprocessor$", "nxos": r"Processor$",
    "iosxr": r"RP XR - Processor$",
    "junos": r"^Routing Engine",
    # The management plane's memory; the data plane's rows are packet buffers and descriptors.
    "panos": r"Management Memory$",
    # The local memory table (per slot); the global one agrees.
    "procurve": r"^Local Memory",
}


def librenms_mempools(name: str, data: dict) -> list[Row]:
    """LibreNMS' memory pools EyeNet's memory stands for."""
    pools = section(data, "mempools", "mempools")
    pattern = _family(MEMPOOLS, name)
    return [p for p in pools if re.search(pattern, p["mempool_descr"])] if pattern is not None else pools


def librenms_memory(name: str, data: dict) -> float | None:
    """The pools' share in use: their used over their total where LibreNMS has bytes, else
    (percent-only pools) the mean of their percentages."""
    pools = librenms_mempools(name, data)
    if not pools:
        return None
    if all(p["mempool_total"] and p["mempool_total"] > 100 and p["mempool_used"] is not None for p in pools):
        return 100 * sum(p["mempool_used"] for p in pools) / sum(p["mempool_total"] for p in pools)
    return sum(p["mempool_perc"] for p in pools) / len(pools)


NO_LIBRENMS_MEMORY: dict[str, tuple[float | None, str]] = {
    "ciena-sds": (None, "LibreNMS reads no memory MIB for SAOS, nor does EyeNet know one: a reason"),
    "powerconnect_2824": (None, "LibreNMS reads no memory MIB for Radlan PowerConnects, nor does EyeNet know one: a reason"),
}


# -- ports --------------------------------------------------------------------------

# Per recording: EyeNet rows LibreNMS' per-OS filters leave out, beyond the defaults.
OS_SKIPS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ciena-sds": (lambda i: i.if_name == "", "ifName present but empty (SAOS' logical rows): LibreNMS' ports module skips them"),
    "vmware-esxi": (lambda i: i.if_name.startswith(("DvsPortset-", "vmk")),
                    "the distributed switch's port set and VMkernel NICs: LibreNMS' ESXi definition leaves them out"),
}

# Per recording: LibreNMS ports that are not ifTable rows (built from vendor tables).
LIBRENMS_EXTRA_PORTS: dict[str, tuple[Callable[[Row], bool], str]] = {
    "timos": (lambda r: r["ifType"] in ("serviceVprn", "network"),
              "router and VPRN service interfaces (management, ...) LibreNMS builds from SR OS' own MIBs; "
              "they are not IF-MIB rows"),
}

# LibreNMS reads values through net-snmp's quoted output and loses the double quotes and
# backslashes inside them (SR OS' 'lag-1, LAG Group, "To HOUF_IXR_02"' is stored without its
# quotes, '..., \\IP interface\\' without its last backslash): names are compared without them.
_UNQUOTED = str.maketrans("", "", '"\\')


def _label(text: str | None) -> str | None:
    return None if text is None else text.translate(_UNQUOTED)


# Recordings whose ifPhysAddress is not the one LibreNMS' expectations were made from.
MAC_NOT_COMPARABLE = {
    "awplus_5.4.8-2": "the recording's ifPhysAddress on eth0 and the 5101-6105 ports is the 4-octet text 'Data', "
                      "where LibreNMS' expectations hold 44:61:07:04:06:01 (its capture before the file was scrubbed)",
}
MAC_FIELD = 6  # in port_row


def port_row(iface: Any) -> tuple:
    """An EyeNet interface as LibreNMS' port row: LibreNMS fills an empty ifDescr with ifName
    and a missing ifName with ifDescr (FortiOS, IronWare rows without ifXTable), writes a MAC
    as bare hex, and 0 for an MTU or ifLastChange it has not got."""
    return (_label(iface.if_name or iface.if_descr), _label(iface.if_descr or iface.if_name), iface.admin_status,
            iface.oper_status, iface.speed, iface.mtu or None, None if iface.mac is None else iface.mac.replace(":", ""),
            iface.last_change or None)


def librenms_port_row(row: Row) -> tuple:
    mac = row.get("ifPhysAddress")
    return (_label(row["ifName"]), _label(row["ifDescr"]), row["ifAdminStatus"], row["ifOperStatus"], row["ifSpeed"] or None,
            row.get("ifMtu") or None, mac if mac and re.fullmatch(r"[0-9a-f]{12}", mac) else None, row.get("ifLastChange") or None)


# -- identity -----------------------------------------------------------------------

# Recordings whose LibreNMS serial is not the ENTITY-MIB chassis row's, and why.
SERIAL_NOTES: dict[str, str] = {
    "boss_ers4950": "LibreNMS stores none; the chassis row says 17OL2350T590",
    "comware": "LibreNMS reads a board's serial from HH3C-ENTITY-EXT-MIB, not the chassis'",
    "dell-os10": "LibreNMS stores none; the chassis row has one",
    "dell-sonic": "LibreNMS stores none; the chassis row has one",
    "dnos_z9100-on": "the chassis row says 'NA' (EyeNet: none); LibreNMS stores none either",
    "iosxr_asr9901": "LibreNMS takes another module's serial; the first chassis row (the rack) has FOC2213NL5M",
    "vrp_5720": "LibreNMS reads HUAWEI-ENTITY-EXTENT-MIB's; the chassis row has 2102359576DMHC000120",
}


def recorded_chassis_serial(name: str) -> str | None:
    """entPhysicalSerialNum of the recording's first chassis row (entPhysicalClass 3), read
    from the file itself; None when it has no such row or no serial there."""
    rows: dict[str, dict[int, tuple[str, str]]] = {"5": {}, "11": {}}
    for line in (agents.SNMPREC_DIR / f"{name}.snmprec").read_text(encoding="utf-8", errors="replace").splitlines():
        oid, tag, value = line.split("|", 2)
        for column in rows:
            prefix = f"1.3.6.1.2.1.47.1.1.1.1.{column}."
            if oid.startswith(prefix) and oid[len(prefix):].isdigit():
                rows[column][int(oid[len(prefix):])] = (tag, value)
    chassis = sorted(i for i, (_, v) in rows["5"].items() if v == "3")
    if not chassis or chassis[0] not in rows["11"]:
        return None
    tag, value = rows["11"][chassis[0]]
    text = bytes.fromhex(value).decode("latin-1") if tag == "4x" else value
    return text.strip() or None


# -- OS version ---------------------------------------------------------------------

# Where LibreNMS writes the version otherwise than the device does: its figure as the
# device writes it, and why.
VERSION_AS: dict[str, tuple[Callable[[str], str], str]] = {
    "iosxe_c9500": (lambda v: v.split()[-1], "LibreNMS puts the image's feature set (CAT9K_IOSXE) before the version"),
    "sonicwall": (lambda v: re.search(r"SonicOS (\S+)", v).group(1),
                  "LibreNMS writes firmware and ROM together: '(Firmware SonicOS 7.0.1-R1456 / ROM 7.0.0.9)'"),
    "vrp": (lambda v: re.sub(r"\s*\[.*\]$", "", v).translate(str.maketrans("", "", "()")),
            "LibreNMS adds the patch state ([unlocked], or the patch) from HUAWEI-SYS-MAN-MIB and writes the release "
            "in parentheses; sysDescr's 'Version 5.170 (S5720 V200R010C00SPC600)' gives '5.170 V200R010C00SPC600'"),
}

# Recordings whose LibreNMS version is not comparable: EyeNet's figure, and why.
VERSION_NOT_COMPARABLE: dict[str, tuple[str | None, str]] = {
    "cumulus_edgecore-as4610-54p": (None, "no profile knows Cumulus Linux (the standard MIBs read it): no OS named, no version"),
    "dell-os10": (None, "LibreNMS' 'A03' is the chassis' PPID revision (hardware, DELLEMC-OS10-CHASSIS-MIB); the recording "
                        "holds no OS10 version"),
}


def librenms_version(name: str, data: dict) -> str | None:
    """LibreNMS' version as the device writes it (VERSION_AS)."""
    version = data["os"]["discovery"]["devices"][0].get("version")
    rewrite = _family(VERSION_AS, name)
    return rewrite[0](version) if version and rewrite else version


def version_agrees(name: str, data: dict, version: str | None) -> bool:
    """EyeNet's version is LibreNMS' where it has one (or, where LibreNMS' is not comparable,
    the figure VERSION_NOT_COMPARABLE gives)."""
    if name in VERSION_NOT_COMPARABLE:
        return version == VERSION_NOT_COMPARABLE[name][0]
    want = librenms_version(name, data)
    return want is None or version == want


# -- components ---------------------------------------------------------------------


def component_mismatches(name: str, data: dict, counted: dict[str, list[float]], tolerance: float) -> list[tuple]:
    """The kinds ("processor", "memory") whose counted components are not LibreNMS' rows the
    device's figure stands for, one for one, each within `tolerance` (where LibreNMS lists
    cores, CORES_OF_A_CPU, their CPU's mean). Kinds LibreNMS has no row for are not compared."""
    out = []
    for kind, figures in (("processor", librenms_processor_figures(name, data)),
                          ("memory", [p["mempool_perc"] for p in librenms_mempools(name, data)])):
        ours, want = sorted(counted.get(kind, [])), sorted(figures)
        if want and (len(ours) != len(want) or any(abs(a - b) > tolerance for a, b in zip(ours, want))):
            out.append((kind, ours, want))
    return out


# -- links --------------------------------------------------------------------------

# LibreNMS writes remote_port as "<port> (<hex>)", the hex a MAC of the neighbour (or empty).
_PORT_SUFFIX = re.compile(r" \([0-9a-f]*\)$")
_MAC = re.compile(r"^[0-9a-f]{2}([:\- ]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$", re.IGNORECASE)


def _port(text: str | None) -> str | None:
    """A port id as compared: MACs written any way ("CC4E24D22896", "B8 A4 4F ...",
    "cc:4e:...") as 12 lower-case hex digits."""
    if text is None:
        return None
    return re.sub(r"[:\- ]", "", text).lower() if _MAC.match(text) else text


def librenms_links(data: dict) -> set[tuple] | None:
    module = data.get("discovery-protocols")
    if module is None:
        return None
    return {
        (link["protocol"], link["ifName"] or link["ifDescr"], link["remote_hostname"], _port(_PORT_SUFFIX.sub("", link["remote_port"])))
        for link in module["discovery"]["links"]
    }


# The map (GET /api/topology) against LibreNMS' links, per device: on which of its ports, by
# which protocol. Peers are compared in test_collect_recordings on the neighbours themselves;
# the map names a peer as one node per neighbour name, or by chassis id, which a fleet of
# scrubbed recordings shares. Per recording: ports where only the map has a link, and why.
MAP_ONLY_LINKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "arubaos-cx": (lambda port: port in ("1/1/8", "1/1/9"), "neighbours sending neither a system name nor a description"),
    "dell-sonic": (lambda port: True, "every neighbour sends neither a system name nor a description"),
    "procurve": (lambda port: port == "31", "a neighbour sending neither a system name nor a description"),
    "voss_8608": (lambda port: port == "3/24", "a neighbour sending neither a system name nor a description"),
}
# LibreNMS makes no link of those; the map shows them, named by their chassis id.

# Per recording: ports where only LibreNMS has a link, and why.
LIBRENMS_ONLY_LINKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "ciena-sds": (lambda port: port in ("1/8", "4/19", "4/20"),
                  "the neighbours there report the device's own chassis id (18:92:a4:12:34:56, its base MAC, scrubbed "
                  "into the recording): the map leaves out a device hearing itself"),
}


def map_link_mismatches(name: str, data: dict, links: Iterable[Mapping[str, Any]], device: str, ports: set[str]) -> set | None:
    """(protocol, port) of `device`'s links on the map (GET /api/topology's links) on its own
    `ports` (its interfaces' names: LibreNMS attaches a link to a port only), against LibreNMS'
    links: what only one side has, beyond MAP_ONLY_LINKS and LIBRENMS_ONLY_LINKS. None where
    LibreNMS has no discovery-protocols module."""
    want = librenms_links(data)
    if want is None:
        return None
    ours = set()
    for link in links:
        if device not in (link["source"], link["target"]):
            continue
        port = link["sourcePort"] if link["source"] == device else link["targetPort"]
        if port in ports:
            ours.update((protocol, port) for protocol in link["protocol"].split("+"))
    theirs = {(protocol, port) for protocol, port, _, _ in want}
    map_only = _family(MAP_ONLY_LINKS, name, (lambda port: False, ""))[0]
    librenms_only = _family(LIBRENMS_ONLY_LINKS, name, (lambda port: False, ""))[0]
    return {("map", p) for p in ours - theirs if not map_only(p[1])} | {("librenms", p) for p in theirs - ours if not librenms_only(p[1])}


def eyenet_links(neighbours: Iterable[Any]) -> set[tuple]:
    """The neighbours LibreNMS would make a link of (a named one), as it would write them."""
    out = set()
    for n in neighbours:
        hostname = n.remote_name or (n.remote_description if n.protocol == "lldp" else None)
        if hostname:
            out.add((n.protocol, n.local_port, hostname, _port(n.remote_port)))
    return out
