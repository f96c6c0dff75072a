"""The test rig itself: output parsers, and the snmpd / snmpsim agents checked
with net-snmp's own tools, before EyeNet's SNMP client exists.

Plain pytest (no trio): everything here is synchronous subprocess work.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import agents
import pytest
from netsnmp_output import (
    NETSNMP_OUTPUT_OPTIONS,
    ParseError,
    Varbind,
    format_oid,
    is_servable,
    parse_netsnmp_output,
    parse_oid,
    parse_snmprec,
    read_snmprec,
    snmpsim_walk,
    strip_end_of_walk,
    without_counter64,
)

# Every recording in tests/data/librenms/snmprec: each is parsed, and served by snmpsim.
ALL_RECORDINGS = agents.recording_names(agents.SNMPREC_DIR)

# Those whose whole walk through snmpsim is compared with the file (agents.py says why
# not the others yet).
RECORDINGS = list(agents.SNMPSIM_EXACT_RECORDINGS)

# Records snmpsim cannot serve (it logs "data error" and a walk ends before
# them): IpAddress values anonymised to the text "<private>".
UNSERVABLE = {
    "nxos_n3k-3064pq": [
        "1.3.6.1.4.1.9.9.168.1.2.1.1.3.1",
        "1.3.6.1.4.1.9.9.168.1.2.1.1.3.2",
        "1.3.6.1.4.1.9.9.168.1.2.1.1.5.1",
        "1.3.6.1.4.1.9.9.168.1.2.1.1.5.2",
    ],
}


def assert_same_varbinds(got: list[Varbind], expected: list[Varbind], what: str) -> None:
    """List equality with a short message at the first difference (pytest's
    own diff of 10,000-element lists is slow and unreadable)."""
    if got == expected:
        return
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            context = "\n".join(f"  {format_oid(o)} {t} {v!r}" for o, t, v in expected[max(0, i - 2) : i])
            pytest.fail(
                f"{what}: first difference at #{i}\n{context}\n"
                f"  expected {format_oid(e[0])} {e[1]} {e[2]!r}\n"
                f"  got      {format_oid(g[0])} {g[1]} {g[2]!r}",
                pytrace=False,
            )
    longer, name = (got, "got") if len(got) > len(expected) else (expected, "expected")
    first = longer[min(len(got), len(expected))]
    pytest.fail(
        f"{what}: {len(got)} varbinds, expected {len(expected)}; first extra in {name}: "
        f"{format_oid(first[0])} {first[1]} {first[2]!r}",
        pytrace=False,
    )


# ---------------------------------------------------------------------------
# parse_netsnmp_output
# ---------------------------------------------------------------------------

NETSNMP_SAMPLE = """\
.1.3.6.1.2.1.1.1.0 = Hex-STRING: 4C 69 6E 75 78 20 76 6D 20 36 2E 31 38 2E 34 34 
2D 66 63 2D 76 37 38 32 20 23 31 20 53 4D 50 20 
40 30 
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10
.1.3.6.1.2.1.1.3.0 = Timeticks: (4369) 0:00:43.69
.1.3.6.1.2.1.1.4.0 = ""
.1.3.6.1.2.1.1.5.0 = Hex-STRING: 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E FF 
.1.3.6.1.2.1.1.7.0 = INTEGER: -2147483648
.1.3.6.1.2.1.2.2.1.22.1 = OID: .0.0
.1.3.6.1.2.1.4.20.1.1.127.0.0.1 = IpAddress: 127.0.0.1
.1.3.6.1.2.1.11.1.0 = Counter32: 4294967295
.1.3.6.1.2.1.25.2.2.0 = Gauge32: 0
.1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 18446744073709551615
.1.3.6.1.2.1.14.2.1.2.0.0.0.150 = NULL
.1.3.6.1.4.1.2021.10.1.6.1 = Opaque: Float: 0.094238
.1.3.6.1.2.1.3.7.0 = OPAQUE: 01 02 
.1.3.6.1.2.1.1.99.0 = No Such Object available on this agent at this OID
.1.3.6.1.2.1.1.3.5 = No Such Instance currently exists at this OID
.1.3.6.1.6.3.16.1.5.2.1.6.6.95 = No more variables left in this MIB View (It is past the end of the MIB tree)
"""


def test_parse_netsnmp_output_every_type():
    got = parse_netsnmp_output(NETSNMP_SAMPLE)
    assert got == [
        ((1, 3, 6, 1, 2, 1, 1, 1, 0), "STRING", b"Linux vm 6.18.44-fc-v782 #1 SMP @0"),
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), "OID", (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)),
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), "Timeticks", 4369),
        ((1, 3, 6, 1, 2, 1, 1, 4, 0), "STRING", b""),
        ((1, 3, 6, 1, 2, 1, 1, 5, 0), "STRING", bytes(range(15)) + b"\xff"),
        ((1, 3, 6, 1, 2, 1, 1, 7, 0), "INTEGER", -(2**31)),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 22, 1), "OID", (0, 0)),
        ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 127, 0, 0, 1), "IpAddress", b"\x7f\x00\x00\x01"),
        ((1, 3, 6, 1, 2, 1, 11, 1, 0), "Counter32", 2**32 - 1),
        ((1, 3, 6, 1, 2, 1, 25, 2, 2, 0), "Gauge32", 0),
        ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), "Counter64", 2**64 - 1),
        ((1, 3, 6, 1, 2, 1, 14, 2, 1, 2, 0, 0, 0, 150), "NULL", None),
        ((1, 3, 6, 1, 4, 1, 2021, 10, 1, 6, 1), "Opaque", 0.094238),
        ((1, 3, 6, 1, 2, 1, 3, 7, 0), "Opaque", b"\x01\x02"),
        ((1, 3, 6, 1, 2, 1, 1, 99, 0), "noSuchObject", None),
        ((1, 3, 6, 1, 2, 1, 1, 3, 5), "noSuchInstance", None),
        ((1, 3, 6, 1, 6, 3, 16, 1, 5, 2, 1, 6, 6, 95), "endOfMibView", None),
    ]


def test_parse_netsnmp_output_details():
    # -Ot prints TimeTicks as a bare number; v1 snmpwalk ends with "End of MIB"
    assert parse_netsnmp_output(".1.3.6.1.2.1.1.3.0 = 326\nEnd of MIB\n") == [
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), "Timeticks", 326)
    ]
    assert parse_netsnmp_output("") == []
    walk = parse_netsnmp_output(
        ".1.3.6.1.2.1.1.2.0 = INTEGER: 1\n"
        ".1.3.6.1.2.1.1.2.0 = No more variables left in this MIB View (It is past the end of the MIB tree)\n"
        ".1.3.6.1.2.1.1.2.0 = No more variables left in this MIB View (It is past the end of the MIB tree)\n"
    )
    assert strip_end_of_walk(walk) == [((1, 3, 6, 1, 2, 1, 1, 2, 0), "INTEGER", 1)]


@pytest.mark.parametrize(
    "text",
    [
        '.1.3.6.1.2.1.1.1.0 = STRING: "quoted strings are ambiguous"\n',  # run without -Ox
        ".1.3.6.1.2.1.2.2.1.3.1 = INTEGER: softwareLoopback(24)\n",  # MIBs loaded, no -Oe
        "SNMPv2-MIB::sysDescr.0 = Hex-STRING: 41 \n",  # no -On
        ".1.3.6.1.2.1.1.1.0 = Hex-STRING: 41 \nnot hex\n",
        ".1.3.6.1.2.1.1.1.0 = Wrong Type (should be OCTET STRING): INTEGER: 1\n",
        ".1.3.6.1.2.1.11.1.0 = Counter32: 4294967296\n",
        ".1.3.6.1.2.1.4.20.1.1.1 = IpAddress: 1.2.3\n",
        ".1.3.6.1.2.1.1.1.0\n",
    ],
)
def test_parse_netsnmp_output_rejects(text):
    with pytest.raises(ParseError):
        parse_netsnmp_output(text)


# ---------------------------------------------------------------------------
# parse_snmprec
# ---------------------------------------------------------------------------


def test_parse_snmprec_every_tag():
    text = (
        "1.3.6.1.2.1.1.1.0|4|Linux a|b|c\n"  # split on the first two '|' only
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10\n"
        "1.3.6.1.2.1.1.3.0|67|208255664\n"
        "1.3.6.1.2.1.1.4.0|4|\n"
        "1.3.6.1.2.1.1.5.0|4x|00ff0A0d\n"
        "1.3.6.1.2.1.2.2.1.8.1|2|-1\n"
        "1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1\n"
        "1.3.6.1.2.1.2.2.1.10.1|65|4294967295\n"
        "1.3.6.1.2.1.2.2.1.5.1|66|1000000000\n"
        "1.3.6.1.2.1.14.2.1.2.0.0.0.150|5|\n"
        "1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615\n"
        "1.3.6.1.2.1.31.1.1.1.18.1|4| leading space kept\r\n"
        "1.3.6.1.4.1.9.9.168.1.2.1.1.3.1|64|<private>"  # last line, no newline
    )
    got = parse_snmprec(text)
    assert got == [
        ((1, 3, 6, 1, 2, 1, 1, 1, 0), "STRING", b"Linux a|b|c"),
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), "OID", (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)),
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), "Timeticks", 208255664),
        ((1, 3, 6, 1, 2, 1, 1, 4, 0), "STRING", b""),
        ((1, 3, 6, 1, 2, 1, 1, 5, 0), "STRING", b"\x00\xff\n\r"),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 1), "INTEGER", -1),
        ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10, 0, 0, 1), "IpAddress", b"\n\x00\x00\x01"),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), "Counter32", 4294967295),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 1), "Gauge32", 1000000000),
        ((1, 3, 6, 1, 2, 1, 14, 2, 1, 2, 0, 0, 0, 150), "NULL", None),
        ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), "Counter64", 2**64 - 1),
        ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18, 1), "STRING", b" leading space kept"),
        ((1, 3, 6, 1, 4, 1, 9, 9, 168, 1, 2, 1, 1, 3, 1), "IpAddress", b"<private>"),
    ]
    assert [is_servable(vb) for vb in got] == [True] * 12 + [False]
    assert snmpsim_walk(got) == got[:12]
    assert snmpsim_walk(got, "1") == got[:10] + got[11:12]
    assert parse_snmprec(text.encode()) == got


@pytest.mark.parametrize(
    "line",
    [
        "1.3.6.1.2.1.1.1.0|4",  # no value field
        "1.3.6.1.2.1.1.1.0|99|x",  # unknown tag
        "1.3.6.1.2.1.1.1.0|2|abc",
        "1.3.6.1.2.1.1.1.0|4x|abc",  # odd hex
        "1.3.6.1.2.1.1.1.0|65|4294967296",
        "1.3.6.1.2.1.1.1.0|65|-1",
        "1.3.6.x|2|1",
        "1.3.6.1.2.1.1.1.0|5|not empty",
    ],
)
def test_parse_snmprec_rejects(line):
    with pytest.raises(ParseError):
        parse_snmprec(line + "\n")


def test_oid_helpers():
    assert parse_oid(".1.3.6") == parse_oid("1.3.6") == (1, 3, 6)
    assert format_oid((1, 3, 6)) == "1.3.6"
    with pytest.raises(ParseError):
        parse_oid("")


# Lines that repeat the OID of the line before (tests/data/librenms/README.md): procurve has
# 12 on two ARP OIDs. Every other recording is strictly sorted.
DUPLICATE_OIDS = {"procurve": 12}


@pytest.mark.parametrize("name", ALL_RECORDINGS)
def test_recordings_parse(snmprec_dir: Path, name: str):
    path = snmprec_dir / f"{name}.snmprec"
    records = read_snmprec(path)
    assert len(records) == path.read_bytes().count(b"\n") + (0 if path.read_bytes().endswith(b"\n") else 1)
    oids = [oid for oid, _, _ in records]
    assert all(a <= b for a, b in zip(oids, oids[1:])), "recordings are sorted"
    duplicates = sum(a == b for a, b in zip(oids, oids[1:]))
    assert duplicates == DUPLICATE_OIDS.get(name, 0), "recordings have no duplicate OIDs but those known"
    unservable = [format_oid(o) for o, t, v in records if not is_servable((o, t, v))]
    assert unservable == UNSERVABLE.get(name, [])


def test_all_recordings_present(testdata_dir: Path, snmprec_dir: Path):
    names = agents.recording_names(snmprec_dir)
    assert set(RECORDINGS) <= set(names)
    assert names == sorted(p.stem for p in (testdata_dir / "librenms-expected").glob("*.json"))
    readme = (testdata_dir / "README.md").read_text()
    assert [n for n in names if n not in readme] == [], "recordings the README does not describe"
    for kept in ("COPYING", "NOTICE"):
        assert (testdata_dir / kept).is_file(), f"tests/data/librenms/{kept} belongs with the recordings"


# ---------------------------------------------------------------------------
# net-snmp snmpd
# ---------------------------------------------------------------------------


def test_snmpd_answers(snmpd_agent: agents.Agent):
    descr, name, uptime, procs = agents.snmpget(
        snmpd_agent, ".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.25.1.6.0"
    )
    assert descr[1] == "STRING" and descr[2].startswith(b"Linux")
    assert name == ((1, 3, 6, 1, 2, 1, 1, 5, 0), "STRING", b"eyenet-test-snmpd")
    assert uptime[1] == "Timeticks"
    assert procs[1] == "noSuchObject"  # hrSystemProcesses: volatile, not in the view...
    (procs,) = agents.snmpget(snmpd_agent, ".1.3.6.1.2.1.25.1.6.0", community=snmpd_agent.full_community)
    assert procs[1] == "Gauge32"  # ...but there for full_community
    (uptime,) = agents.snmpget(snmpd_agent, ".1.3.6.1.2.1.1.3.0", community=snmpd_agent.stable_community)
    assert uptime[1] == "noSuchObject"
    # a wrong community gets no answer at all
    proc = agents.run_netsnmp(
        "snmpget", snmpd_agent, ".1.3.6.1.2.1.1.1.0", community="wrong", timeout=0.2, retries=0, check=False
    )
    assert proc.returncode != 0 and "Timeout" in proc.stderr


def _under(oid, subtrees):
    return any(oid[: len(x)] == x for x in (parse_oid(s) for s, _ in subtrees))


def test_snmpd_stable_view_walks_equal(snmpd_agent: agents.Agent):
    first = agents.snmpbulkwalk(snmpd_agent, community=snmpd_agent.stable_community)
    second = agents.snmpbulkwalk(snmpd_agent, community=snmpd_agent.stable_community, max_repetitions=7)
    assert first[-1][1] == "endOfMibView"
    first, second = strip_end_of_walk(first), strip_end_of_walk(second)
    assert len(first) > 1000
    assert_same_varbinds(second, first, "second walk of the stable view")
    leaked = [o for o, _, _ in first if _under(o, agents.VOLATILE_SUBTREES + agents.CHANGING_SUBTREES)]
    assert not leaked, f"changing OIDs in the stable view: {[format_oid(o) for o in leaked[:5]]}"
    oids = [o for o, _, _ in first]
    assert oids == sorted(set(oids))


def test_snmpd_main_view(snmpd_agent: agents.Agent):
    # The whole tree: some subtrees (hrSWInstalled reads the package database) can take
    # seconds to answer on a cold cache, so each request gets longer than the default 1 s.
    walk = strip_end_of_walk(agents.snmpbulkwalk(snmpd_agent, timeout=5))
    leaked = [o for o, _, _ in walk if _under(o, agents.VOLATILE_SUBTREES)]
    assert not leaked, f"volatile OIDs in the main view: {[format_oid(o) for o in leaked[:5]]}"
    present = {o[:10] for o, _, _ in walk}
    assert (1, 3, 6, 1, 2, 1, 2, 2, 1, 10) in present  # ifInOctets
    assert (1, 3, 6, 1, 2, 1, 25, 2, 3, 1) in present  # hrStorageEntry
    assert len(walk) > len(strip_end_of_walk(agents.snmpbulkwalk(snmpd_agent, community=snmpd_agent.stable_community)))


def test_snmpd_full_view_has_counters(snmpd_agent: agents.Agent):
    walk = agents.snmpbulkwalk(snmpd_agent, ".1.3.6.1.2.1.31.1.1.1", community=snmpd_agent.full_community)
    types = {t for o, t, _ in walk if o[:11] == (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)}  # ifHCInOctets
    assert types == {"Counter64"}


def test_snmpd_ipv6(snmpd_agent: agents.Agent):
    if snmpd_agent.host6 is None:
        pytest.skip("no IPv6 loopback on this host")
    (descr,) = agents.snmpget(snmpd_agent, ".1.3.6.1.2.1.1.5.0", ipv6=True)
    assert descr[2] == b"eyenet-test-snmpd"


def test_snmpd_v3_user_and_stop(tmp_path: Path):
    conf = "createUser eyenet SHA eyenet-auth-pass AES eyenet-priv-pass\nrouser eyenet authpriv -V main\n"
    with agents.start_snmpd(tmp_path, community="c0mmunity", extra_conf=conf) as agent:
        assert agent.community == "c0mmunity" and agent.full_community == "c0mmunity-full"
        assert agent.stable_community == "c0mmunity-stable"
        proc = agents.run_netsnmp(
            "snmpget",
            agent,
            ".1.3.6.1.2.1.1.3.0",
            version="3",
            v3_args=("-l", "authPriv", "-u", "eyenet", "-a", "SHA", "-A", "eyenet-auth-pass", "-x", "AES", "-X", "eyenet-priv-pass"),
        )
        ((_, type_name, _),) = parse_netsnmp_output(proc.stdout)
        assert type_name == "Timeticks"
        assert str(agent.workdir).startswith(str(tmp_path))
    assert not agent.alive()
    agent.stop()  # idempotent


def test_start_snmpd_reports_a_bad_config(tmp_path: Path):
    with pytest.raises(agents.AgentError, match="snmpd"):
        agents.start_snmpd(tmp_path, extra_conf="agentaddress udp:192.0.2.1:1\n")


# ---------------------------------------------------------------------------
# snmpsim
# ---------------------------------------------------------------------------


def test_snmpsim_serves_every_recording(snmpsim_agent: agents.Agent):
    assert snmpsim_agent.communities == tuple(ALL_RECORDINGS)
    for name in ALL_RECORDINGS:
        (vb,) = agents.snmpget(snmpsim_agent, ".1.3.6.1.2.1.1.2.0", community=name)
        assert vb[1] == "OID", name


@pytest.mark.parametrize("name", RECORDINGS)
def test_snmpsim_bulkwalk_matches_recording(snmpsim_agent: agents.Agent, snmprec_dir: Path, name: str):
    records = read_snmprec(snmprec_dir / f"{name}.snmprec")
    walk = agents.snmpbulkwalk(snmpsim_agent, ".1", max_repetitions=25, community=name)
    assert walk[-1][1] == "endOfMibView"
    walk = strip_end_of_walk(walk)
    assert_same_varbinds(walk, snmpsim_walk(records, "2c"), f"snmpbulkwalk of {name}")
    if name not in UNSERVABLE:
        assert walk == records  # the whole file, exactly
        return
    # The walk stopped before the first unservable record; every servable
    # record after it is still there for GET, and the bad ones are noSuchInstance.
    assert format_oid(records[len(walk)][0]) == UNSERVABLE[name][0]
    rest = records[len(walk) :]
    got: list[Varbind] = []
    for i in range(0, len(rest), 40):
        got += agents.snmpget(snmpsim_agent, *(format_oid(o) for o, _, _ in rest[i : i + 40]), community=name)
    expected = [vb if is_servable(vb) else (vb[0], "noSuchInstance", None) for vb in rest]
    assert_same_varbinds(got, expected, f"GET of {name} after the walk stopped")


@pytest.mark.parametrize("name", ["linux_icecast", "routeros_crs317"])
def test_snmpsim_v1_walk_matches_recording(snmpsim_agent: agents.Agent, snmprec_dir: Path, name: str):
    # GETNEXT one varbind at a time is slow with snmpsim (~1.3 ms each): two small files.
    records = read_snmprec(snmprec_dir / f"{name}.snmprec")
    walk = agents.snmpwalk(snmpsim_agent, ".1", version="1", community=name)
    assert_same_varbinds(walk, without_counter64(records), f"SNMPv1 walk of {name}")


def test_snmpsim_roundtrip_of_every_type(tmp_path: Path):
    """A recording with every tag and edge value, served by snmpsim, read back
    with snmpbulkwalk: proves both parsers agree with net-snmp and snmpsim."""
    data = tmp_path / "data"
    data.mkdir()
    text = (
        "1.3.6.1.2.1.1.1.0|4|hello | world\n"
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.4294967295.0\n"
        "1.3.6.1.2.1.1.3.0|67|4294967295\n"
        "1.3.6.1.2.1.1.4.0|4|\n"
        "1.3.6.1.2.1.1.5.0|4x|000102030405060708090a0b0c0d0eff\n"  # exactly 16 bytes: one line
        "1.3.6.1.2.1.1.6.0|4x|000102030405060708090a0b0c0d0eff10\n"  # 17: wraps
        "1.3.6.1.2.1.1.7.0|2|-2147483648\n"
        "1.3.6.1.2.1.1.8.0|2|2147483647\n"
        "1.3.6.1.2.1.2.1.0|64|255.255.255.255\n"
        "1.3.6.1.2.1.2.2.0|64|0.0.0.0\n"
        "1.3.6.1.2.1.3.1.0|65|4294967295\n"
        "1.3.6.1.2.1.3.2.0|66|0\n"
        "1.3.6.1.2.1.3.3.0|70|18446744073709551615\n"
        "1.3.6.1.2.1.3.4.0|5|\n"
        "1.3.6.1.2.1.3.5.0|6|0.0\n"
        "1.3.6.1.2.1.3.7.0|68x|0102\n"
        "1.3.6.1.2.1.3.8.0|4| leading and trailing  \n"
        "1.3.6.1.2.1.3.9.0|4x|0d0a\n"
        "1.3.6.1.2.1.4.1.0|4|last line without newline"
    )
    (data / "every_type.snmprec").write_text(text)
    records = parse_snmprec(text)
    # snmpsim strips trailing whitespace off a value (none of RECORDINGS has any)
    records = [(o, t, v.rstrip() if t == "STRING" and o[-2] == 8 else v) for o, t, v in records]
    with agents.start_snmpsim(data, tmp_path) as sim:
        assert sim.communities == ("every_type",)
        walk = agents.snmpbulkwalk(sim, community="every_type", max_repetitions=5)
        assert_same_varbinds(strip_end_of_walk(walk), records, "v2c walk")
        v1 = agents.snmpwalk(sim, community="every_type", version="1")
        assert_same_varbinds(v1, without_counter64(records), "v1 walk")
        (vb,) = agents.snmpget(sim, ".1.3.6.1.2.1.99.0", community="every_type")
        assert vb[1] in ("noSuchObject", "noSuchInstance")


def test_free_udp_port():
    port = agents.free_udp_port()
    assert 1024 < port < 65536
    if agents.ipv6_available():
        assert 1024 < agents.free_udp_port(ipv6=True) < 65536


def test_netsnmp_options_are_the_documented_ones():
    # The parser relies on these; keep the docstring of netsnmp_output in sync.
    assert NETSNMP_OUTPUT_OPTIONS == ("-m", "", "-On", "-Ox", "-Oe", "-OU")
    out = subprocess.run(["snmpget", "--version"], capture_output=True, text=True)
    assert "NET-SNMP version" in out.stdout + out.stderr
