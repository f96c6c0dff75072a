"""The demo lab (eyenet/demo): generated devices served by snmpsim, read with EyeNet's client.

The schedule (CPU spike at t = 40..100 s, link flap at t = 60..90 s) is checked
without waiting for it: a lab started with ``start_time`` in the past is
already that far into its schedule, and the option strings written into the
recordings are evaluated directly at chosen lab times.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio

from eyenet.demo import lab as lab_module
from eyenet.demo.devices import LINKS, SCHEDULE
from eyenet.demo.lab import V3_DEVICE, LabError, start_lab, write_lab
from eyenet.demo.variation import eyenet_lab as clock
from eyenet.snmp.client import SnmpClient, Target

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_OPER = IF_ENTRY + (8,)
IF_LAST_CHANGE = IF_ENTRY + (9,)
IFX_NAME = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
IFX_HC_IN = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
IFX_HC_OUT = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10)
CPM_5MIN_REV = (1, 3, 6, 1, 4, 1, 9, 9, 109, 1, 1, 1, 1, 8)
LLDP_LOC_CHASSIS = (1, 0, 8802, 1, 1, 2, 1, 3, 2, 0)
LLDP_LOC_PORT_ID = (1, 0, 8802, 1, 1, 2, 1, 3, 7, 1, 3)
LLDP_REM = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1)
LLDP_REM_MAN_ADDR = (1, 0, 8802, 1, 1, 2, 1, 4, 2, 1)
IP_FORWARDING = (1, 3, 6, 1, 2, 1, 4, 1, 0)
DOT1D_NUM_PORTS = (1, 3, 6, 1, 2, 1, 17, 1, 2, 0)

FLAP = SCHEDULE["link_flap"]
SPIKE = SCHEDULE["cpu_spike"]


def target(dev) -> Target:
    return Target(dev.host, dev.port, community=dev.community, version="2c", timeout=2.0, retries=2)


def column(varbinds, prefix) -> dict:
    """{index tuple: value} of the varbinds under prefix."""
    n = len(prefix)
    return {vb.oid[n:]: vb.value for vb in varbinds if vb.oid[:n] == prefix}


def records(directory: Path, device: str) -> dict[str, tuple[str, str]]:
    rows = {}
    for line in (directory / "data" / f"{device}.snmprec").read_text(encoding="iso-8859-1").splitlines():
        oid, tag, value = line.split("|", 2)
        rows[oid] = (tag, value)
    return rows


def if_index(directory: Path, device: str, name: str) -> int:
    for oid, (tag, value) in records(directory, device).items():
        if oid.startswith("1.3.6.1.2.1.31.1.1.1.1.") and value == name:
            return int(oid.rsplit(".", 1)[1])
    raise AssertionError(f"{device} has no interface {name}")


# ---------------------------------------------------------------------------
# the written lab and its schedule, evaluated at chosen lab times
# ---------------------------------------------------------------------------


def test_lab_devices(tmp_path: Path):
    devices = write_lab(tmp_path, "127.0.0.1", 16161)
    roles = [d.role for d in devices]
    assert len(devices) >= 8
    assert roles.count("router") >= 1 and roles.count("switch") >= 6 and "endpoint" in roles
    assert len({d.community for d in devices}) == len(devices)
    for dev in devices:
        assert (tmp_path / "data" / f"{dev.community}.snmprec").is_file()
        assert (dev.host, dev.port) == ("127.0.0.1", 16161)
    assert (tmp_path / "variation" / "eyenet_lab.py").is_file()
    # the recordings are sorted by OID, as snmpsim requires
    for dev in devices:
        oids = [tuple(map(int, oid.split("."))) for oid in records(tmp_path, dev.id)]
        assert oids == sorted(oids)


def test_cpu_spike_schedule(tmp_path: Path):
    write_lab(tmp_path)
    tag, options = records(tmp_path, SPIKE["device"])["1.3.6.1.4.1.9.9.109.1.1.1.1.8.7"]
    assert tag == "66:eyenet_lab"
    before = [clock.value_at(options, t / 2) for t in range(0, 2 * int(SPIKE["start"]))]
    during = [clock.value_at(options, t / 2) for t in range(2 * int(SPIKE["start"]), 2 * int(SPIKE["end"]))]
    after = [clock.value_at(options, t / 2) for t in range(2 * int(SPIKE["end"]), 2 * 600)]
    assert set(during) == {SPIKE["cpu"]}
    assert all(10 <= v <= 35 for v in before + after)
    assert len(set(before + after)) > 5  # the baseline varies


def test_link_flap_schedule(tmp_path: Path):
    write_lab(tmp_path)
    start, end = FLAP["start"], FLAP["end"]
    for device, port in (FLAP["a"], FLAP["b"]):
        rows = records(tmp_path, device)
        x = if_index(tmp_path, device, port)
        oper = rows[f"1.3.6.1.2.1.2.2.1.8.{x}"][1]
        last_change = rows[f"1.3.6.1.2.1.2.2.1.9.{x}"][1]
        uptime = rows["1.3.6.1.2.1.1.3.0"][1]
        hc_in = rows[f"1.3.6.1.2.1.31.1.1.1.6.{x}"][1]
        assert [clock.value_at(oper, t) for t in (0, start - 0.1, start, end - 0.1, end, 200)] == [1, 1, 2, 2, 1, 1]
        initial = clock.value_at(last_change, 0)
        assert clock.value_at(last_change, start - 0.1) == initial
        assert clock.value_at(last_change, start) == clock.value_at(uptime, start)
        assert clock.value_at(last_change, end - 1) == clock.value_at(uptime, start)
        assert clock.value_at(last_change, end + 50) == clock.value_at(uptime, end)
        # nothing counted while the link is down
        assert clock.value_at(hc_in, start) == clock.value_at(hc_in, end - 0.01)
        assert clock.value_at(hc_in, end + 1) > clock.value_at(hc_in, end)
        # the LLDP neighbour of this port disappears while the link is down
        lldp = [v for oid, (tag, v) in rows.items() if oid.startswith(f"1.0.8802.1.1.2.1.4.1.1.9.0.{x}.")]
        assert len(lldp) == 1
        assert clock.value_at(lldp[0], start - 1) is not None
        assert clock.value_at(lldp[0], start + 1) is None
        assert clock.value_at(lldp[0], end + 1) is not None


def test_counters_monotonic_and_wrapping(tmp_path: Path):
    write_lab(tmp_path)
    rows = records(tmp_path, "dist-sw-01")
    moving = [(oid, v) for oid, (tag, v) in rows.items() if tag == "70:eyenet_lab"]
    assert len(moving) > 50
    for oid, options in moving:
        values = [clock.value_at(options, t) for t in range(0, 400, 5)]
        assert values == sorted(values), oid
        assert values[-1] > values[0], oid
    # the 32-bit octet counter is the 64-bit one mod 2**32, and wraps within minutes on an uplink
    x = if_index(tmp_path, "dist-sw-01", "Ethernet49/1")
    hc, c32 = rows[f"1.3.6.1.2.1.31.1.1.1.6.{x}"][1], rows[f"1.3.6.1.2.1.2.2.1.10.{x}"][1]
    samples = [(clock.value_at(hc, t), clock.value_at(c32, t)) for t in range(0, 1200, 10)]
    assert all(v64 % 2**32 == v32 for v64, v32 in samples)
    assert any(b[1] < a[1] for a, b in zip(samples, samples[1:])), "no 32-bit wrap in 20 minutes"
    # the rate varies over time (bytes per 10 s)
    deltas = [b[0] - a[0] for a, b in zip(samples, samples[1:])]
    assert max(deltas) > 1.5 * min(deltas)


def test_missing_snmpsim_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(lab_module, "snmpsim_command", lambda: tmp_path / "no-such-snmpsim")

    async def run():
        async with start_lab(tmp_path):
            pass  # pragma: no cover

    with pytest.raises(LabError, match="snmpsim"):
        trio.run(run)


# ---------------------------------------------------------------------------
# the running lab, read with EyeNet's client
# ---------------------------------------------------------------------------


async def lldp_links(client: SnmpClient, lab) -> set[tuple[str, str, str, str]]:
    """(local sysName, local port, remote sysName, remote port) of every LLDP entry,
    checking each entry's chassis id and management address against the remote device."""
    chassis, hosts, entries = {}, {}, []
    for dev in lab.devices:
        t = target(dev)
        name = (await client.get(t, [SYS_NAME]))[0].value.decode()
        chassis[name] = (await client.get(t, [LLDP_LOC_CHASSIS]))[0].value
        hosts[name] = dev.mgmt_address
        ports = column(await client.walk(t, LLDP_LOC_PORT_ID), LLDP_LOC_PORT_ID)
        rem = await client.walk(t, LLDP_REM)
        man = column(await client.walk(t, LLDP_REM_MAN_ADDR), LLDP_REM_MAN_ADDR + (3,))
        rem_chassis = column(rem, LLDP_REM + (5,))
        rem_port_subtype = column(rem, LLDP_REM + (6,))
        rem_port = column(rem, LLDP_REM + (7,))
        rem_name = column(rem, LLDP_REM + (9,))
        for index, remote in rem_name.items():
            _, local_port_num, _ = index
            assert rem_port_subtype[index] == 5  # interfaceName
            addresses = [".".join(map(str, key[5:])) for key in man if key[:3] == index and key[3:5] == (1, 4)]
            entries.append((name, ports[(local_port_num,)].decode(), remote.decode(), rem_port[index].decode(),
                            rem_chassis[index], addresses))
    links = set()
    for local, port, remote, rport, rchassis, addresses in entries:
        assert rchassis == chassis[remote], (local, port, remote)
        assert addresses == [hosts[remote]], (local, port, remote)
        links.add((local, port, remote, rport))
    return links


def assert_symmetric(links: set) -> None:
    for local, port, remote, rport in links:
        assert (remote, rport, local, port) in links, f"{local} {port} -> {remote} {rport} has no reverse entry"


async def test_running_lab_during_schedule(tmp_path: Path):
    # Lab time 70 s at start-up: inside both the CPU spike and the link flap.
    async with start_lab(tmp_path, start_time=time.time() - 70) as lab:
        async with SnmpClient.open() as client:
            begin = lab.elapsed()
            assert SPIKE["start"] <= begin and FLAP["start"] <= begin, begin
            # every device answers, with the identity the lab describes
            for dev in lab.devices:
                name, objid = await client.get(target(dev), [SYS_NAME, SYS_OBJECT_ID])
                assert name.value.decode() == dev.name
                assert ".".join(map(str, objid.value)) == dev.sys_object_id
                ifs = await client.walk(target(dev), IF_ENTRY)
                assert len(column(ifs, IF_ENTRY + (1,))) >= 4
                forwarding = (await client.get(target(dev), [IP_FORWARDING]))[0].value
                assert forwarding == (1 if dev.role == "router" or dev.id.startswith("dist") else 2)
                bridge = (await client.get(target(dev), [DOT1D_NUM_PORTS]))[0]
                assert (bridge.tag == 0x02 and bridge.value > 0) == (dev.role == "switch")

            core = target(lab.device(SPIKE["device"]))
            cpu = column(await client.walk(core, CPM_5MIN_REV), CPM_5MIN_REV)
            assert list(cpu.values()) == [SPIKE["cpu"]]

            (dev_a, port_a), (dev_b, port_b) = FLAP["a"], FLAP["b"]
            for device, port in ((dev_a, port_a), (dev_b, port_b)):
                x = if_index(tmp_path, device, port)
                oper, last_change, uptime = await client.get(
                    target(lab.device(device)), [IF_OPER + (x,), IF_LAST_CHANGE + (x,), SYS_UPTIME])
                assert oper.value == 2
                assert 0 <= uptime.value - last_change.value <= (lab.elapsed() - FLAP["start"] + 1) * 100

            links = await lldp_links(client, lab)
            assert_symmetric(links)
            assert (dev_a, port_a, dev_b, port_b) not in links
            assert len(links) == 2 * (len(LINKS) - 1)
            end = lab.elapsed()
            assert end < FLAP["end"], f"the checks took too long ({end - begin:.1f} s) to fall in the flap window"


async def test_running_lab_counters_move_and_schedule_ends(tmp_path: Path):
    # Lab time 150 s: the spike and the flap are over.
    async with start_lab(tmp_path, start_time=time.time() - 150) as lab:
        async with SnmpClient.open() as client:
            assert lab.elapsed() > SPIKE["end"]
            core = target(lab.device(SPIKE["device"]))
            cpu = column(await client.walk(core, CPM_5MIN_REV), CPM_5MIN_REV)
            assert all(10 <= v <= 35 for v in cpu.values())

            (dev_a, port_a), (dev_b, port_b) = FLAP["a"], FLAP["b"]
            for device, port in ((dev_a, port_a), (dev_b, port_b)):
                x = if_index(tmp_path, device, port)
                t = target(lab.device(device))
                oper, last_change, uptime = await client.get(t, [IF_OPER + (x,), IF_LAST_CHANGE + (x,), SYS_UPTIME])
                assert oper.value == 1
                # the link came back at lab time 90 s
                assert abs((uptime.value - last_change.value) - (lab.elapsed() - FLAP["end"]) * 100) < 300

            links = await lldp_links(client, lab)
            assert_symmetric(links)
            assert len(links) == 2 * len(LINKS)

            # counters move between two reads, never backwards; uplinks are busier than access ports
            first = {}
            for dev in lab.devices:
                first[dev.id] = column(await client.walk(target(dev), IFX_HC_IN), IFX_HC_IN)
            await trio.sleep(1.5)
            for dev in lab.devices:
                t = target(dev)
                second = column(await client.walk(t, IFX_HC_IN), IFX_HC_IN)
                names = {k: v.decode() for k, v in column(await client.walk(t, IFX_NAME), IFX_NAME).items()}
                assert second.keys() == first[dev.id].keys()
                assert all(second[k] >= first[dev.id][k] for k in second)
                moved = {names[k]: second[k] - first[dev.id][k] for k in second if second[k] > first[dev.id][k]}
                assert moved, f"{dev.id}: no counter moved"
            acc = lab.device("acc-sw-01")
            uplinks = {(if_index(tmp_path, "acc-sw-01", name),) for name in ("Te1/1/1", "Te1/1/2")}
            t = target(acc)
            a = column(await client.walk(t, IFX_HC_OUT), IFX_HC_OUT)
            await trio.sleep(1.0)
            b = column(await client.walk(t, IFX_HC_OUT), IFX_HC_OUT)
            deltas = {k: b[k] - a[k] for k in a}
            busiest = max(deltas, key=deltas.get)
            assert busiest in uplinks

    assert lab.process.returncode is not None  # stopped on exit


async def test_the_snmpv3_device_answers_as_its_recording(tmp_path: Path):
    # snmpsim's own v3 engine (pysnmp's, AES-256 in the "C" key extension): a second
    # implementation beside snmpd's for the same protocols.
    async with start_lab(tmp_path) as lab:
        (dev,) = [d for d in lab.devices if d.usm is not None]
        assert dev.id == V3_DEVICE
        v3 = Target(dev.host, dev.port, version="3", usm=dev.usm, context=dev.id, timeout=2.0, retries=2)
        async with SnmpClient.open() as client:
            name, objid = await client.get(v3, [SYS_NAME, SYS_OBJECT_ID])
            assert name.value.decode() == dev.name
            assert ".".join(map(str, objid.value)) == dev.sys_object_id
            ours = [(vb.oid, vb.tag) for vb in await client.walk(v3, IF_ENTRY)]
            assert ours == [(vb.oid, vb.tag) for vb in await client.walk(target(dev), IF_ENTRY)]
            assert len(ours) > 20
