"""Walks by EyeNet's client equal what net-snmp's own tools and the recordings say.

net-snmp's snmpd runs live, so some values move between two walks: each EyeNet
walk is bracketed by two snmpbulkwalk runs, and every value must equal one of them
(or, for a counter, lie between them; any other value that moved may have held a third).
"""


import agents
import pytest
import trio
from netsnmp_output import (
    NETSNMP_OUTPUT_OPTIONS,
    is_servable,
    parse_netsnmp_output,
    read_snmprec,
    snmpsim_walk,
    without_counter64,
)

from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.values import TAG_NAMES

GROWING = {"Counter32", "Timeticks", "Counter64"}


def plain(varbinds):
    return [(vb.oid, TAG_NAMES[vb.tag], vb.value) for vb in varbinds]


async def netsnmp_walk(agent, oid: str, version: str = "2c", ipv6: bool = False, community: str | None = None):
    tool = "snmpbulkwalk" if version == "2c" else "snmpwalk"
    address = f"udp6:[::1]:{agent.port}" if ipv6 else f"udp:{agent.host}:{agent.port}"
    proc = await trio.run_process(
        [tool, f"-v{version}", "-c", community or agent.community, *NETSNMP_OUTPUT_OPTIONS, "-t", "5", "-r", "2", address, oid],
        capture_stdout=True,
        capture_stderr=True,
    )
    # snmpbulkwalk prints the endOfMibView that ends a walk of the whole tree; it is not a value.
    return [vb for vb in parse_netsnmp_output(proc.stdout.decode()) if vb[1] != "endOfMibView"]


def assert_between(ours, before, after):
    b, a = {o: (t, v) for o, t, v in before}, {o: (t, v) for o, t, v in after}
    mine = {o: (t, v) for o, t, v in ours}
    assert len(mine) == len(ours), "EyeNet returned an OID twice"
    assert [o for o, _, _ in ours] == sorted(mine), "EyeNet's walk is out of order"
    missing = (set(b) & set(a)) - set(mine)
    extra = set(mine) - (set(b) | set(a))
    assert not missing, f"EyeNet missed OIDs net-snmp saw twice: {sorted(missing)[:5]}"
    assert not extra, f"EyeNet saw OIDs net-snmp never did: {sorted(extra)[:5]}"
    for oid, (tag, value) in mine.items():
        seen = [x for x in (b.get(oid), a.get(oid)) if x is not None]
        assert all(t == tag for t, _ in seen), f"{oid}: type {tag} vs net-snmp {seen}"
        if any(v == value for _, v in seen):
            continue
        values = [v for _, v in seen]
        moved = len(values) == 2 and values[0] != values[1]
        # A value that moved between the brackets may have held a third one in between (memory
        # in use goes down as well as up, a load average is a string); a counter can only have
        # been between them.
        assert moved and (tag not in GROWING or min(values) <= value <= max(values)), (
            f"{oid}: {tag} {value!r} is neither of net-snmp's {values!r}"
        )


@pytest.mark.parametrize(
    "root,view",
    [
        ("1", "stable"),
        ("1.3.6.1.2.1.2.2", "full"),
        ("1.3.6.1.2.1.31.1.1", "full"),
        ("1.3.6.1.2.1.25", "stable"),
        ("1.3.6.1.6.3", "stable"),
    ],
    ids=["whole-tree", "ifTable", "ifXTable", "host-resources", "snmp-framework"],
)
async def test_v2c_walk_equals_snmpbulkwalk(snmpd_agent, root, view):
    """The interface tables come from the full view (their counters move, between the brackets);
    elsewhere the stable view leaves out values that move but are not counters (load, memory)."""
    community = snmpd_agent.community if view == "stable" else snmpd_agent.full_community
    target = Target(snmpd_agent.host, snmpd_agent.port, community=community, timeout=5)
    oid = tuple(int(x) for x in root.split("."))
    async with SnmpClient.open() as client:
        before = await netsnmp_walk(snmpd_agent, root, community=community)
        ours = plain(await client.walk(target, oid))
        after = await netsnmp_walk(snmpd_agent, root, community=community)
    assert len(ours) > (1000 if root == "1" else 5)
    assert_between(ours, before, after)


async def test_v1_walk_equals_snmpwalk(snmpd_agent):
    target = Target(snmpd_agent.host, snmpd_agent.port, version="1", community=snmpd_agent.community, timeout=5)
    async with SnmpClient.open() as client:
        before = await netsnmp_walk(snmpd_agent, "1.3.6.1.2.1", version="1")
        ours = plain(await client.walk(target, (1, 3, 6, 1, 2, 1)))
        after = await netsnmp_walk(snmpd_agent, "1.3.6.1.2.1", version="1")
    assert len(ours) > 500
    assert_between(ours, before, after)


async def test_walk_over_ipv6_and_small_repetitions(snmpd_agent):
    agent = snmpd_agent
    assert agent.host6 == "::1", "this host has no IPv6 loopback"
    full = agent.full_community
    target = Target("::1", agent.port, community=full, timeout=5, max_repetitions=1, max_repetitions_cap=3)
    async with SnmpClient.open() as client:
        before = await netsnmp_walk(agent, "1.3.6.1.2.1.2", ipv6=True, community=full)
        ours = plain(await client.walk(target, (1, 3, 6, 1, 2, 1, 2)))
        after = await netsnmp_walk(agent, "1.3.6.1.2.1.2", ipv6=True, community=full)
        assert client.tuner(target).size <= 3
    assert_between(ours, before, after)


async def test_get_equals_snmpget(snmpd_agent):
    oids = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.9.1.3.1", "1.3.6.1.2.1.1.99.0"]
    proc = await trio.run_process(
        ["snmpget", "-v2c", "-c", snmpd_agent.community, *NETSNMP_OUTPUT_OPTIONS, f"udp:{snmpd_agent.host}:{snmpd_agent.port}", *oids],
        capture_stdout=True,
    )
    target = Target(snmpd_agent.host, snmpd_agent.port, community=snmpd_agent.community, timeout=5)
    async with SnmpClient.open() as client:
        ours = plain(await client.get(target, [tuple(map(int, o.split("."))) for o in oids]))
    assert ours == parse_netsnmp_output(proc.stdout.decode())
    assert ours[-1][1] == "noSuchObject"


def recordings(testdata_dir):
    """The recordings snmpsim serves exactly as snmpsim_walk models them (agents.py says
    why not the others yet)."""
    return [testdata_dir / "snmprec" / f"{name}.snmprec" for name in agents.SNMPSIM_EXACT_RECORDINGS]


@pytest.mark.parametrize("version", ["2c", pytest.param("1", marks=pytest.mark.slow)])  # v1: ~50k GETNEXTs
async def test_walk_of_every_recording_equals_the_file(snmpsim_agent, testdata_dir, version):
    """Every OID, type and value of each recording, through snmpsim, for v2c and v1.

    SNMPv1 cannot carry Counter64 (RFC 3584 4.2.2.1): snmpsim, like any bilingual
    agent, skips those objects for v1. A record no agent can encode (an IpAddress
    anonymised to "<private>") ends snmpsim's view there (snmpsim_walk models it);
    the records after it are checked by walks of their own subtrees.
    """
    files = recordings(testdata_dir)
    assert len(files) == 12 and all(f.is_file() for f in files), f"expected the 12 recordings in {testdata_dir}"
    expected, walks = {}, []
    for path in files:
        records = read_snmprec(path)
        if version == "1":
            records = without_counter64(records)
        head = snmpsim_walk(records, version)
        expected[(path.stem, (1,))] = head
        walks.append((path.stem, (1,)))
        bad = [oid for oid, t, v in (vb for vb in records if not is_servable(vb))]
        for prefix in sorted({vb[0][: min(11, len(vb[0]) - 1)] for vb in records[len(head) :] if is_servable(vb)}):
            if not any(oid[: len(prefix)] == prefix for oid in bad):
                expected[(path.stem, prefix)] = [vb for vb in records if vb[0][: len(prefix)] == prefix]
                walks.append((path.stem, prefix))
    results = {}
    async with SnmpClient.open() as client:

        async def walk_one(stem, root):
            target = Target(snmpsim_agent.host, snmpsim_agent.port, version=version, community=stem, timeout=10)
            results[(stem, root)] = plain(await client.walk(target, root))

        async with trio.open_nursery() as nursery:
            for stem, root in walks:
                nursery.start_soon(walk_one, stem, root)
    assert len(walks) > 12, "the records after nxos' unservable ones were not walked"
    for key in walks:
        assert results[key] == expected[key], key
