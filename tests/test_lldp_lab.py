"""The LLDP lab (tests/lldp_lab.py): network namespaces running lldpd as the
AgentX subagent of their own snmpd, read from the root namespace over SNMP.

A router and two switches in a line, r1-eth1 <-> s1-eth1, s1-eth2 <-> s2-eth1:
each node's lldpRemTable (walked with net-snmp's snmpwalk over its management
address) lists exactly its neighbours with the right ports, system names,
chassis IDs, capabilities and management addresses; cutting s1 <-> s2 takes
them out of each other's tables within seconds while r1 <-> s1 stays; a fourth
node linked to r1 shows up in r1's table. Needs root and ``ip netns`` (skipped
without them only); snmpd and lldpd must be installed (scripts/test.sh does).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import agents
import lldp_lab
import pytest
from lldp_lab import LLDP_REM_MAN_ADDR_TABLE, LldpLab, Neighbour, wait_until

pytestmark = pytest.mark.slow

SYS_NAME = ".1.3.6.1.2.1.1.5.0"
CHASSIS_SUBTYPE_MAC = 4
PORT_SUBTYPE_IFNAME = 5
MAN_ADDR_IPV4 = 1
# LLDP-MIB LldpSystemCapabilitiesMap: BITS, first octet, most significant bit first.
CAP_BITS = {"other": 0x80, "repeater": 0x40, "bridge": 0x20, "wlan": 0x10, "router": 0x08}
WAIT = 15.0  # bound on every wait for LLDP to settle (it takes 1-3 s)


@pytest.fixture
def lab(tmp_path: Path):
    with lldp_lab.lab_for_test(tmp_path / "lab") as lab:
        yield lab


def neighbours_of(lab: LldpLab) -> dict[str, set[Neighbour]]:
    return {name: node.lldp_neighbours() for name, node in lab.nodes.items()}


def settle(lab: LldpLab, want: dict[str, set[tuple[str, str, str]]]) -> float:
    """Wait until every node lists exactly ``want``; returns the seconds it took."""
    t0 = time.monotonic()
    wait_until(lambda: neighbours_of(lab) == want, WAIT,
               f"LLDP neighbours {want}", describe=lambda: f"now: {neighbours_of(lab)}\n{lab.describe()}")
    return time.monotonic() - t0


def test_lldp_lab_line_cut_and_new_node(lab: LldpLab) -> None:
    r1 = lab.add_node("r1", capabilities=("router",))
    s1 = lab.add_node("s1", capabilities=("bridge",))
    s2 = lab.add_node("s2", sys_name="s2.lab.example")
    nodes = (r1, s1, s2)
    assert any(x.startswith("route ") for x in lldp_lab.leftovers(lab))  # the guard route while it runs
    assert len({n.address for n in nodes}) == 3 and len({n.netns for n in nodes}) == 3
    assert len({n.chassis_id for n in nodes}) == 3 and all(len(n.chassis_id) == 6 for n in nodes)
    for node in nodes:
        assert node.netns.startswith(f"en-{lab.prefix}-") and node.community == "public"
        (vb,) = agents.snmpget(node.snmpd, SYS_NAME)
        assert vb[2] == node.sys_name.encode()

    lab.link(r1, s1, "eth1", "eth1")
    s1_s2 = lab.link(s1, s2, a_port="eth2", b_port="eth1")
    took = settle(lab, {
        "r1": {("eth1", "s1", "eth1")},
        "s1": {("eth1", "r1", "eth1"), ("eth2", "s2.lab.example", "eth1")},
        "s2": {("eth1", "s1", "eth2")},
    })
    print(f"neighbours appeared {took:.1f} s after the links")

    # The raw rows, from the root namespace: chassis ID = the neighbour's own
    # lldpLocChassisId (its MAC), port IDs are interface names, capabilities
    # and the management address at which EyeNet can poll the neighbour.
    by_name = {n.sys_name: n for n in nodes}
    for node in nodes:
        rows = lldp_lab.lldp_remote_rows(node.snmpd)
        ports = lldp_lab.lldp_local_ports(node.snmpd)
        assert ports.keys() >= {index[1] for index in rows}
        assert "mgmt0" in ports.values()  # managed, LLDP disabled there
        man = {oid for oid, _t, _v in agents.snmpwalk(node.snmpd, LLDP_REM_MAN_ADDR_TABLE)}
        for index, cols in rows.items():
            peer = by_name[cols[lldp_lab.REM_SYS_NAME].decode()]
            assert cols[lldp_lab.REM_CHASSIS_ID_SUBTYPE] == CHASSIS_SUBTYPE_MAC
            assert cols[lldp_lab.REM_CHASSIS_ID] == peer.chassis_id
            assert cols[lldp_lab.REM_PORT_ID_SUBTYPE] == PORT_SUBTYPE_IFNAME
            assert cols[lldp_lab.REM_PORT_DESC] == cols[lldp_lab.REM_PORT_ID]
            assert cols[lldp_lab.REM_SYS_DESC] == peer.description.encode()
            cap = cols[lldp_lab.REM_SYS_CAP_ENABLED][0]
            assert cap & CAP_BITS[peer.capabilities[0]], (peer.name, cols[lldp_lab.REM_SYS_CAP_ENABLED])
            assert (cap & (CAP_BITS["router"] | CAP_BITS["bridge"])) == CAP_BITS[peer.capabilities[0]]
            # lldpRemManAddrEntry index: the row's index, subtype ipV4(1), length 4, the address.
            addr = tuple(int(p) for p in peer.address.split("."))
            column = tuple(int(p) for p in LLDP_REM_MAN_ADDR_TABLE.split(".")) + (1, 3)
            assert column + index + (MAN_ADDR_IPV4, 4) + addr in man, (node.name, peer.name, sorted(man))

    # Cut s1 <-> s2: they drop each other, r1 <-> s1 stays.
    t0 = time.monotonic()
    lab.cut(s1_s2)
    took = settle(lab, {"r1": {("eth1", "s1", "eth1")}, "s1": {("eth1", "r1", "eth1")}, "s2": set()})
    print(f"cut seen {time.monotonic() - t0:.1f} s after it (TTL {lab.ttl} s)")
    assert took < 2 * lab.ttl

    # A fourth node on r1's eth2 appears in r1's table.
    s3 = lab.add_node("s3")
    lab.link(r1, s3, "eth2", "eth1")
    took = settle(lab, {
        "r1": {("eth1", "s1", "eth1"), ("eth2", "s3", "eth1")},
        "s1": {("eth1", "r1", "eth1")},
        "s2": set(),
        "s3": {("eth1", "r1", "eth2")},
    })
    print(f"new node seen {took:.1f} s after its link")


def test_lldp_lab_down_restore_and_remove(lab: LldpLab) -> None:
    a = lab.add_node("a", capabilities=("bridge", "router"))
    b = lab.add_node("b")
    link = lab.link(a, b, "swp1", "swp7")
    both = {"a": {("swp1", "b", "swp7")}, "b": {("swp7", "a", "swp1")}}
    settle(lab, both)

    lab.cut(link, how="down")  # the ports stay, oper down
    settle(lab, {"a": set(), "b": set()})
    assert {"swp1", "mgmt0"} <= set(lldp_lab.lldp_local_ports(a.snmpd).values())
    lab.restore(link)
    settle(lab, both)

    lab.cut(link)  # deleted
    settle(lab, {"a": set(), "b": set()})
    lab.restore(link)  # made again
    settle(lab, both)

    # Removing b: its lldpd says goodbye (a shutdown LLDPDU), its namespace goes.
    netns, root_if = b.netns, b.root_if
    lab.remove_node(b)
    assert link.state == "removed" and "b" not in lab.nodes
    assert not Path("/run/netns", netns).exists() and not Path("/sys/class/net", root_if).exists()
    settle(lab, {"a": set()})
    with pytest.raises(lldp_lab.LabError):
        lab.link(a, b)


def test_dead_labs_leftovers_are_removed(lab: LldpLab) -> None:
    """A lab killed without closing leaves a lock file nobody holds and its
    namespaces; the next lab (here: remove_dead_labs) removes them."""
    while True:
        prefix = os.urandom(2).hex()
        if not (lldp_lab.LOCK_DIR / f"{prefix}.lock").exists():
            break
    netns = f"en-{prefix}-x"
    (lldp_lab.LOCK_DIR / f"{prefix}.lock").write_text('{"prefix": "%s"}' % prefix)
    lldp_lab._run(["ip", "netns", "add", netns])
    try:
        with lldp_lab._alloc_lock():
            removed = lldp_lab.remove_dead_labs()
        assert netns in removed
        assert not Path("/run/netns", netns).exists()
        assert not (lldp_lab.LOCK_DIR / f"{prefix}.lock").exists()
        # The live lab's own lock is held, so it is not touched.
        assert (lldp_lab.LOCK_DIR / f"{lab.prefix}.lock").exists()
    finally:
        lldp_lab._run(["ip", "netns", "del", netns], check=False)
