"""eyenet.collect against the device recordings, compared with LibreNMS' expectations.

Each recording in tests/data/librenms/snmprec is served by snmpsim (community = file
stem), read once with read_device() and the packaged profiles, then read_neighbours()
(the ``readings`` fixture), and compared with tests/data/librenms/librenms-expected:

* ports: the ``ports`` module's ``poller`` section (the state after a poll; its
  ``discovery`` section leaves ifAdminStatus and ifSpeed empty). Compared on
  ifIndex, ifName, ifDescr, ifAdminStatus, ifOperStatus and speed. LibreNMS
  stores a speed of 0 as null; so does EyeNet (None: unknown). Rows LibreNMS'
  filters leave out are named with the filter (tests/librenms.py).
* cpu: LibreNMS' ``processors`` rows EyeNet's figure stands for, averaged.
* memory: the ``mempools`` rows EyeNet's figure stands for, pooled.
* links: the ``discovery-protocols`` module's links, where it has one.

docs/devices.md says, family by family, which processors and pools those are and why;
tests/librenms.py holds the same choices and the few figures of LibreNMS' that are not
comparable, each with its reason.
"""

from __future__ import annotations

import random
import re

import agents
import attrs
import librenms
import pytest
import trio

from eyenet.collect.interfaces import DEFAULT_IGNORED_INTERFACES, ignored, interfaces_from_columns
from eyenet.collect.profiles import load_profiles
from eyenet.collect.read import DeviceReading, read_device
from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.mib import HR_STORAGE_SIZE, HR_STORAGE_TYPE, IF_COLUMNS
from eyenet.snmp.rows import rows_of
from eyenet.topology.neighbours import DeviceNeighbours
from eyenet.topology.read import read_neighbours

# Every recording in tests/data/librenms/snmprec.
ALL_RECORDINGS = agents.recording_names(agents.SNMPREC_DIR)

# The recordings whose octet counters, system group and interface labels are held to the
# letter (the 12 the reading code was first written against); every recording's CPU,
# memory, ports and links are compared with LibreNMS' below.
RECORDINGS = (
    "arista_eos_vrf", "arubaos-cx", "dell-os10", "edgeswitch_es-24-250w", "fortigate_60fospfv3", "ios_2960x",
    "junos_qfx5100", "linux_icecast", "nxos_n3k-3064pq", "procurve_e2910", "routeros_crs317", "vrp_5720",
)

TOLERANCE = 1.0  # percentage points; LibreNMS stores whole percents


async def read(agent, name: str) -> DeviceReading:
    async with SnmpClient.open() as client:
        with trio.fail_after(60):
            return await read_device(client, Target(agent.host, agent.port, community=name, timeout=10), load_profiles())


@pytest.mark.parametrize("name", ALL_RECORDINGS)
async def test_every_recording_reads_without_problems(snmpsim_agent, testdata_dir, name):
    """Whatever the device: no failure, nothing left unread, the device LibreNMS saw, and
    its interfaces (generic.toml, the last profile, always applies)."""
    reading = await read(snmpsim_agent, name)
    assert reading.problems == ()
    assert reading.profiles[-1] == "generic"
    os_row = librenms.expected(name, testdata_dir)["os"]["discovery"]["devices"][0]
    assert reading.sys_object_id == os_row["sysObjectID"].lstrip(".")
    assert reading.interfaces and reading.uptime is not None


@pytest.fixture(scope="module")
def readings(snmpsim_agent) -> dict[str, tuple[DeviceReading, DeviceNeighbours]]:
    """Every recording read once (read_device, then read_neighbours with its interfaces, as
    the poller and the topology cycle do), a few at a time from the one snmpsim: the
    comparisons below share them."""

    async def read_all() -> dict[str, tuple[DeviceReading, DeviceNeighbours]]:
        out = {}
        limit = trio.CapacityLimiter(4)
        profiles = load_profiles()
        async with SnmpClient.open() as client:

            async def one(name: str) -> None:
                async with limit:
                    target = Target(snmpsim_agent.host, snmpsim_agent.port, community=name, timeout=10)
                    with trio.fail_after(120):
                        reading = await read_device(client, target, profiles)
                        out[name] = (reading, await read_neighbours(client, target, interfaces=reading.interfaces))

            async with trio.open_nursery() as nursery:
                for name in ALL_RECORDINGS:
                    nursery.start_soon(one, name)
        return out

    return trio.run(read_all)


# metric -> LibreNMS' figure for it, and the recordings where LibreNMS has none.
METRICS = {
    "cpu": (librenms.librenms_cpu, librenms.NO_LIBRENMS_CPU),
    "memory": (librenms.librenms_memory, librenms.NO_LIBRENMS_MEMORY),
}


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("name", ALL_RECORDINGS)
def test_cpu_and_memory_match_librenms(readings, name, metric):
    """Within a point of the processors (averaged) and pools (pooled) EyeNet's figure stands
    for (librenms.CPU_ROWS, librenms.MEMPOOLS; docs/devices.md), computed from LibreNMS'
    bytes where it has them, not its rounded percentage."""
    reading = readings[name][0]
    figure, missing = METRICS[metric]
    value, reason, method = (getattr(reading, metric + suffix) for suffix in ("", "_reason", "_method"))
    want = figure(name, librenms.expected(name))
    if want is None:
        expected, why = missing[name]
        assert value == expected, why
        assert (reason is None) == (expected is not None), reason
        return
    assert name not in missing
    assert value is not None, reason
    assert abs(value - want) <= TOLERANCE, (value, want, method)


@pytest.mark.parametrize("name", ALL_RECORDINGS)
def test_ports_match_librenms(readings, name):
    """LibreNMS' ports are EyeNet's interfaces less those LibreNMS' filters leave out, each
    with the same name, description, statuses, speed, MTU, MAC and ifLastChange."""
    reading = readings[name][0]
    ours = {i.if_index: i for i in reading.interfaces}
    ports = {row["ifIndex"]: row for row in librenms.section(librenms.expected(name), "ports", "ports")}
    extra = librenms._family(librenms.LIBRENMS_EXTRA_PORTS, name)
    if extra is not None:
        built = {i for i, row in ports.items() if extra[0](row)}
        assert built and not built & set(ours), extra[1]
        ports = {i: row for i, row in ports.items() if i not in built}
    assert set(ports) - set(ours) == set(), "ports LibreNMS found that EyeNet did not"
    # EyeNet's default `ignored` filter is LibreNMS' default one: what it ignores LibreNMS
    # leaves out, and what LibreNMS leaves out it ignores, or a per-OS filter of LibreNMS' does.
    ignore = [re.compile(p) for p in DEFAULT_IGNORED_INTERFACES]
    skipped = {i for i, itf in ours.items() if ignored(itf, ignore)}
    assert not skipped & set(ports), "ignored interfaces that LibreNMS keeps"
    os_skip = librenms.OS_SKIPS.get(name)
    for index in set(ours) - set(ports) - skipped:
        assert os_skip and os_skip[0](ours[index]), f"ifIndex {index} is not among LibreNMS' ports, and EyeNet keeps it: {ours[index]}"
    def compared(row: tuple) -> tuple:
        return row[: librenms.MAC_FIELD] + row[librenms.MAC_FIELD + 1:] if name in librenms.MAC_NOT_COMPARABLE else row

    mismatches = [
        (index, librenms.port_row(ours[index]), librenms.librenms_port_row(row))
        for index, row in sorted(ports.items())
        if compared(librenms.port_row(ours[index])) != compared(librenms.librenms_port_row(row))
    ]
    assert mismatches == []


@pytest.mark.parametrize("name", ALL_RECORDINGS)
def test_serial_matches_librenms(readings, name):
    """The chassis' serial number from ENTITY-MIB wherever the recording has one, as LibreNMS
    has it where it reads the same row (librenms.SERIAL_NOTES says where it does not; where
    the recording has no chassis serial, LibreNMS' comes from vendor MIBs EyeNet does not read)."""
    serial = readings[name][0].identity.serial
    recorded = librenms.recorded_chassis_serial(name)
    assert serial == (None if recorded in (None, "NA") else recorded)
    want = librenms.expected(name)["os"]["discovery"]["devices"][0].get("serial")
    if name in librenms.SERIAL_NOTES:
        assert serial != want or serial is None, librenms.SERIAL_NOTES[name]
    elif serial is not None:
        assert serial == want


@pytest.mark.parametrize("name", ALL_RECORDINGS)
def test_version_and_components_match_librenms(readings, name):
    """The OS version as LibreNMS has it, where it has one (librenms.VERSION_AS: where it
    writes it otherwise; VERSION_NOT_COMPARABLE: where its figure is no OS version); the
    components counted in cpu and memory are the processors and pools LibreNMS lists for
    what EyeNet's figure stands for, one for one, each within a point."""
    reading, data = readings[name][0], librenms.expected(name)
    assert librenms.version_agrees(name, data, reading.identity.version), reading.identity.version
    counted: dict[str, list[float]] = {}
    for c in reading.components:
        if c.counted:
            counted.setdefault(c.kind, []).append(c.value)
    assert librenms.component_mismatches(name, data, counted, TOLERANCE) == []


@pytest.mark.parametrize("name", ALL_RECORDINGS)
def test_links_match_librenms(readings, name):
    """The LLDP/CDP links EyeNet finds are LibreNMS' (where its expectations have links)."""
    want = librenms.librenms_links(librenms.expected(name))
    neighbours = readings[name][1]
    assert neighbours.problems == ()
    if want is None:
        return
    # LibreNMS attaches a link to one of its ports only: a neighbour on a port that is no
    # ifTable row (AOS-CX's management port, lldpLocPortNum 4000) has no link there.
    on_ports = [n for n in neighbours.neighbours if n.local_if_index is not None]
    assert librenms.eyenet_links(on_ports) == want


@pytest.mark.parametrize("name", RECORDINGS)
def test_system_group_and_counters_match_librenms(readings, name):
    reading = readings[name][0]
    data = librenms.expected(name)
    assert reading.problems == ()

    os_row = data["os"]["discovery"]["devices"][0]
    assert reading.sys_object_id == os_row["sysObjectID"].lstrip(".")
    assert reading.sys_descr == os_row["sysDescr"]
    assert reading.uptime is not None and reading.uptime > 0

    # Octet counters: the 64-bit ones wherever the recording has them (it holds no 32-bit
    # ifInOctets/ifOutOctets at all), equal to what LibreNMS' poller stored. Rows without
    # any (ios' stack ports, Null0) have no counters here; LibreNMS stores 0 for them.
    ports = {row["ifIndex"]: row for row in librenms.section(data, "ports", "ports")}
    ours = {i.if_index: i for i in reading.interfaces}
    with_counters = 0
    for index, row in ports.items():
        mine = ours[index]
        if mine.counter_bits is None:
            assert mine.in_octets is None and not row["ifInOctets"] and not row["ifOutOctets"]
            continue
        with_counters += 1
        assert mine.counter_bits == 64
        assert (mine.in_octets, mine.out_octets) == (row["ifInOctets"], row["ifOutOctets"]), index
        assert (mine.in_errors, mine.out_errors) == (row["ifInErrors"], row["ifOutErrors"]), index
    assert with_counters >= 0.9 * len(ports)


@pytest.mark.parametrize("version, name", [("2c", n) for n in RECORDINGS] + [("1", "linux_icecast"), ("1", "ios_2960x")])
async def test_interfaces_equal_those_of_every_column_walked_whole(snmpsim_agent, version, name):
    """read_device reads ifInOctets, ifOutOctets and ifSpeed only for the rows that need them
    (v2c); the interfaces are the same as from every IF-MIB column walked whole."""
    target = Target(snmpsim_agent.host, snmpsim_agent.port, version=version, community=name, timeout=10)
    async with SnmpClient.open() as client:
        with trio.fail_after(60):
            reading = await read_device(client, target, load_profiles())
            whole = {column: rows_of(oid, await client.walk(target, oid)) for column, oid in IF_COLUMNS.items()}
    assert reading.problems == ()
    assert reading.interfaces == interfaces_from_columns(whole)


@pytest.mark.parametrize("name", ["ios_2960x", "linux_icecast", "junos_qfx5100", "arista_eos_vrf"])
async def test_interface_labels_are_reused_until_the_table_says_otherwise(snmpsim_agent, name):
    """A reading's labels (ifName, ifDescr, ifAlias, ifType) serve the next read_device
    without those columns being read, while ifNumber, ifTableLastChange, sysUpTime, the
    set of rows and their age agree; any of them differing reads them again."""
    target = Target(snmpsim_agent.host, snmpsim_agent.port, community=name, timeout=10)
    profiles = load_profiles()
    async with SnmpClient.open() as client:

        async def read_counting(labels, refresh=600.0):
            before = client.stats.requests
            reading = await read_device(client, target, profiles, labels, refresh)
            return reading, client.stats.requests - before

        with trio.fail_after(60):
            timeouts = client.stats.timeouts
            shared = random.getstate()
            first, full = await read_counting(None)
            assert random.getstate() == shared  # its draw (below) is EyeNet's own generator's
            again, reused = await read_counting(first.labels)
            assert again.labels is first.labels and again.interfaces == first.interfaces and again.problems == ()
            # With the plan too, CPU and memory come from the methods that gave them, and no other.
            before = client.stats.requests
            planned = await read_device(client, target, profiles, first.labels, 600.0, first.plan)
            # Request counts compare only while no request timed out (the bulk tuner halves its size on
            # a timeout, a busy machine can make snmpsim that slow). The planned read asks for less,
            # but in other groupings: the walks it shares requests with differ from the unplanned
            # read's, so with the tuner's size at some values it takes one request more (seen in full
            # runs, junos_qfx5100: 13 against 12). What it must not do is read what the plan left out.
            if client.stats.timeouts == timeouts:
                assert reused < full if len(first.interfaces) > 25 else reused <= full, (reused, full)
                assert client.stats.requests - before <= reused + 1
            assert planned.plan is first.plan and planned.plan.made
            # hrStorageTable's memory: its rows that count are pinned, only their size and used are got.
            hrstorage = first.plan.memory is not None and first.plan.memory.kind == "hrstorage"
            assert (first.plan.storage is not None) == hrstorage
            if hrstorage:
                assert set(first.plan.storage[HR_STORAGE_TYPE]) and HR_STORAGE_SIZE + min(first.plan.storage[HR_STORAGE_TYPE]) in first.plan.gets()
            assert (planned.cpu, planned.memory, planned.cpu_method, planned.memory_method, planned.profiles) == (
                first.cpu, first.memory, first.cpu_method, first.memory_method, first.profiles)
            # Components too, named by the names the plan kept (not read again).
            assert planned.components == first.components and any(c.description for c in first.components)
            # A device's first labels are read again after a random share (half to all) of the
            # interval, so that a fleet started at once spreads its refreshes; later ones last it all.
            labels = first.labels
            assert 0.5 <= labels.lasts <= 1.0
            # Stale by each of the signals: read anew, and named as the agent names them.
            for stale in (
                attrs.evolve(labels, names={}, if_number=(labels.if_number or 0) + 1),
                attrs.evolve(labels, names={}, last_change=(labels.last_change or 0) + 1),
                attrs.evolve(labels, names={}, uptime=(labels.uptime or 0) + 10**6),  # the agent rebooted since
                attrs.evolve(labels, names={}, status_rows=labels.status_rows - {min(labels.status_rows)}),
                attrs.evolve(labels, names={}, read_at=labels.read_at - 601),
            ):
                reading, _ = await read_counting(stale)
                assert reading.labels is not stale and reading.interfaces == first.interfaces, stale
                assert reading.labels.lasts == 1.0
            reading, _ = await read_counting(labels, refresh=0)  # 0: every poll
            assert reading.labels is not labels


@pytest.mark.parametrize("name, other", [("linux_icecast", "ios_2960x"), ("ios_2960x", "junos_qfx5100")])
async def test_a_plan_that_no_longer_fits_is_made_again(snmpsim_agent, name, other):
    """Another device's plan (its methods give nothing here, or its sysObjectID differs), and a
    plan whose method fails: the reading is what a full read gives, with a plan of its own."""
    profiles = load_profiles()
    async with SnmpClient.open() as client:
        target = Target(snmpsim_agent.host, snmpsim_agent.port, community=name, timeout=10)
        with trio.fail_after(60):
            mine = await read_device(client, target, profiles)
            theirs = await read_device(client, attrs.evolve(target, community=other), profiles)
            foreign = attrs.evolve(theirs.plan, sys_object_id=mine.plan.sys_object_id, sys_descr=mine.plan.sys_descr)
            for plan in (theirs.plan, foreign):
                reading = await read_device(client, target, profiles, mine.labels, 600.0, plan)
                assert (reading.cpu, reading.memory, reading.cpu_method, reading.memory_method) == (
                    mine.cpu, mine.memory, mine.cpu_method, mine.memory_method)
                assert reading.plan is not plan and reading.plan.cpu == mine.plan.cpu


def test_interface_labels_current():
    from eyenet.collect.interfaces import InterfaceLabels

    labels = InterfaceLabels((), frozenset(), {}, {}, {}, {}, if_number=5, last_change=100, uptime=1000, read_at=50.0)
    assert labels.current(5, 100, 1000, 50.0, 600)
    assert labels.current(5, 100, 61000, 649.9, 600)
    assert not labels.current(5, 100, 61000, 650.0, 600)  # refresh
    assert not labels.current(6, 100, 1000, 60.0, 600)  # ifNumber
    assert not labels.current(5, 200, 1000, 60.0, 600)  # ifTableLastChange
    assert not labels.current(5, 100, 999, 60.0, 600)  # rebooted
    assert not labels.current(5, 100, None, 60.0, 600)  # no sysUpTime: nothing to tell a reboot by
    # A device's first labels last a share of the interval: its refreshes keep that phase.
    first = attrs.evolve(labels, lasts=0.75)
    assert first.current(5, 100, 1000, 499.9, 600) and not first.current(5, 100, 1000, 500.0, 600)


def test_interface_labels_short_of_ifnumber_are_read_again_once():
    """An agent that answers ifNumber live but its table from a cache (net-snmp, a few
    seconds) can give fewer rows than ifNumber just after an interface came: those labels
    are not reused, so the next poll walks on to the new row; the same short rows read
    twice are the agent's way and are kept."""
    from eyenet.collect.interfaces import interface_labels

    def columns(*rows):
        return {"ifIndex": {(row,): row for row in rows}, "ifDescr": {(row,): b"eth%d" % row for row in rows}}

    state = dict(if_number=4, last_change=100, uptime=1000, read_at=50.0)
    short = interface_labels(columns(1, 2), **state)
    assert not short.settled and not short.current(4, 100, 1000, 60.0, 600)
    whole = interface_labels(columns(1, 2, 3, 4), short, **state)
    assert whole.settled and whole.current(4, 100, 1000, 60.0, 600)
    again = interface_labels(columns(1, 2), short, **state)
    assert again.settled and again.current(4, 100, 1000, 60.0, 600)


def test_interface_labels_read_again_unchanged_are_the_same_objects():
    """A refresh that reads what it read before holds the previous labels' objects (events
    made from those are still held for minutes: no second copy); what changed is new."""
    from eyenet.collect.interfaces import interface_labels

    def columns(alias):
        rows = (1, 2, 1000)
        return {
            "ifDescr": {(row,): b"eth%d" % row for row in rows},
            "ifName": {(row,): b"eth%d" % row for row in rows},
            "ifAlias": {(1,): b"uplink", (2,): alias, (1000,): b""},
            "ifType": {(row,): 6 for row in rows},
            "ifMtu": {(row,): 9000 + row for row in rows},
            "ifPhysAddress": {(row,): bytes([0, 0x11, 0x22, 0x33, 0x44, row % 256]) for row in rows},
            "ifOperStatus": {(row,): 1 for row in rows},
        }

    first = interface_labels(columns(b"to core"), if_number=3)
    again = interface_labels(columns(b"to core, moved"), first, if_number=3)
    assert again.names == first.names and again.aliases[(2,)] == "to core, moved"
    assert all(a is b for a, b in zip(again.rows, first.rows))
    for field in ("names", "descrs", "types", "mtus", "macs"):
        old, new = getattr(first, field), getattr(again, field)
        assert all(k is next(o for o in old if o == k) and new[k] is old[k] for k in new), field
    assert again.aliases[(1,)] is first.aliases[(1,)] and again.aliases[(2,)] is not first.aliases[(2,)]
    assert len(again.status_rows) == 3 and {id(k) for k in again.status_rows} <= {id(r) for r in first.rows}


GENERIC_ONLY = ("arista_eos_vrf", "arubaos-cx", "dell-os10", "linux_icecast", "routeros_crs317")


@pytest.mark.parametrize("name", GENERIC_ONLY)
async def test_generic_profile_alone_reads_host_resources_devices(snmpsim_agent, name):
    """A device no vendor profile knows still gets CPU and memory from generic.toml."""
    generic = load_profiles().by_name("generic")
    async with SnmpClient.open() as client:
        reading = await read_device(client, Target(snmpsim_agent.host, snmpsim_agent.port, community=name, timeout=10), [generic])
    assert reading.profile == "generic" and reading.vendor == ""
    data = librenms.expected(name)
    assert abs(reading.cpu - librenms.librenms_cpu(name, data)) <= TOLERANCE
    assert abs(reading.memory - librenms.librenms_memory(name, data)) <= TOLERANCE


async def test_nxos_columns_walk_past_its_broken_records(snmpsim_agent):
    """nxos' recording has IpAddress records snmpsim cannot serve: a walk of the whole tree
    stops there, but EyeNet walks only the columns it needs, which all answer."""
    reading = await read(snmpsim_agent, "nxos_n3k-3064pq")
    assert reading.memory_method.endswith("cisco-nxos.toml [memory] #1")  # the 64-bit cempMemPoolHC columns
    assert len(reading.interfaces) == 54


async def test_no_vendor_match_and_no_metrics_gives_none(snmpsim_agent):
    """EdgeSwitch has no HOST-RESOURCES or UCD objects: generic alone finds no CPU or memory."""
    generic = load_profiles().by_name("generic")
    async with SnmpClient.open() as client:
        reading = await read_device(
            client, Target(snmpsim_agent.host, snmpsim_agent.port, community="edgeswitch_es-24-250w", timeout=10), [generic]
        )
    assert reading.cpu is None and reading.memory is None
    assert reading.cpu_method is None and reading.memory_method is None
    assert len(reading.interfaces) == 33
    # Never a silent null: why, naming what each method tried.
    assert reading.cpu_reason.startswith("no device profile matches sysObjectID 1.3.6.1.4.1.4413; the standard MIBs: no method gave cpu")
    assert "no answer for hrProcessorLoad" in reading.cpu_reason and "ssCpuIdle" in reading.cpu_reason
    assert "memTotalReal" in reading.memory_reason


async def test_a_metric_no_method_gave_is_tried_again_less_and_less_often(snmpsim_agent):
    """A freshly booted agent may have empty tables at the first read: the methods are tried
    again at the next poll, then after 30 s, 60 s, ... (up to the refresh interval)."""
    generic = load_profiles().by_name("generic")
    target = Target(snmpsim_agent.host, snmpsim_agent.port, community="edgeswitch_es-24-250w", timeout=10)
    async with SnmpClient.open() as client:
        first = await read_device(client, target, [generic])
        assert (first.plan.attempts, first.plan.retry_at) == (1, pytest.approx(trio.current_time(), abs=5))
        second = await read_device(client, target, [generic], first.labels, 600.0, first.plan)
        assert second.plan is not first.plan and second.plan.attempts == 2
        assert second.plan.retry_at == pytest.approx(trio.current_time() + 30, abs=5)
        third = await read_device(client, target, [generic], second.labels, 600.0, second.plan)
        assert third.plan is second.plan  # not due yet: nothing tried
        assert third.cpu_reason == second.cpu_reason
    from eyenet.collect.read import retry_delay

    assert [retry_delay(n, 600.0) for n in range(7)] == [0, 30, 60, 120, 240, 480, 600]


async def test_silent_device_raises_a_plain_timeout():
    """No answer to the system group: SnmpTimeout itself (not an ExceptionGroup), so the
    poller can mark the device down."""
    import agents

    from eyenet.snmp.errors import SnmpTimeout

    port = agents.free_udp_port()
    async with SnmpClient.open() as client:
        with pytest.raises(SnmpTimeout):
            await read_device(client, Target("127.0.0.1", port, timeout=0.2, retries=0), load_profiles())


async def test_a_walk_over_values_too_big_for_bulk_answers_completes(snmpsim_agent):
    """vrp_ac6605-26's Q-BRIDGE port lists are 12 KB a value: snmpsim sends no answer to a
    GETBULK of three or more of them (past a datagram's size), as agents with huge values
    do. The walk shrinks its requests until they are answered, whatever the retries, and
    reads every row."""
    column = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 2, 1, 4)  # Q-BRIDGE-MIB dot1qVlanCurrentEgressPorts
    want = {}
    for line in (agents.SNMPREC_DIR / "vrp_ac6605-26.snmprec").read_text().splitlines():
        oid, tag, value = line.split("|", 2)
        if oid.startswith("1.3.6.1.2.1.17.7.1.4.2.1.4."):
            want[tuple(map(int, oid.split(".")))[len(column):]] = bytes.fromhex(value) if tag == "4x" else value.encode()
    async with SnmpClient.open() as client:
        target = Target(snmpsim_agent.host, snmpsim_agent.port, community="vrp_ac6605-26", timeout=1, retries=1)
        with trio.fail_after(60):
            got = await client.walk(target, column)
        assert client.stats.timeouts > target.retries  # more lost answers than retries, and still whole
    assert rows_of(column, got) == want and len(want) == 8
