"""A real link change, told by the device itself: snmpd in a namespace of the lab
(tests/lldp_lab.py) sends linkDown to EyeNet's trap listener when a port of its goes
down, and the device:status change and the interface-down alert follow within 2 s of
the link going down, where polling alone would wait up to the poll interval (an hour here).

snmpd is set up as `linkUpDownNotifications yes` sets it up, but sampling ifOperStatus
every second: that directive hard-codes a 60 s sampling interval (net-snmp 5.9,
mteTriggerConf.c), which a device would configure shorter the same way. And its ifTable
cache (3 s by default, nsCacheTimeout) is turned off, or the sampling would see the
change up to 3 s late. Needs root and `ip netns` (skipped without them only).
"""

from __future__ import annotations

import agents
import lldp_lab
import pytest
import trio

from eyenet import app
from eyenet.config import Config, StoreSettings, TrapsSettings, WebSettings
from eyenet.devices.model import DeviceConfig
from eyenet.events import AlertNew, DeviceStatus, Trap

pytestmark = pytest.mark.slow

LINK_UP, LINK_DOWN = ".1.3.6.1.6.3.1.1.5.4", ".1.3.6.1.6.3.1.1.5.3"
# NET-SNMP-AGENT-MIB nsCacheTimeout of the ifTable's cache.
IF_TABLE_CACHE_TIMEOUT = "1.3.6.1.4.1.8072.1.5.3.1.2.1.3.6.1.2.1.2.2"
IF_INDEX, IF_ADMIN_STATUS, IF_OPER_STATUS = ".1.3.6.1.2.1.2.2.1.1", ".1.3.6.1.2.1.2.2.1.7", ".1.3.6.1.2.1.2.2.1.8"
LLDP_REM_TABLES_CHANGE = "1.0.8802.1.1.2.0.0.1"
WITHIN = 2.0  # seconds from the link going down: the requirement


def link_notifications(sink: str, manager: str) -> str:
    """linkUpDownNotifications, sampled every second, sent as SNMPv2 traps to `sink`
    (numeric OIDs: the lab's snmpd loads no MIBs). The monitors query the agent itself
    as an internal user, which needs read access. `manager` may set the cache timeouts."""
    return "\n".join([
        "view caches included .1.3.6.1.4.1.8072.1.5.3",
        f"rwcommunity eyenetlab {manager} -V caches",
        f"trap2sink {sink} public",
        "createUser eyenetInternal",
        "iquerySecName eyenetInternal",
        "rouser eyenetInternal noauth",
        f"notificationEvent eyenetLinkUp {LINK_UP} {IF_INDEX} {IF_ADMIN_STATUS} {IF_OPER_STATUS}",
        f"notificationEvent eyenetLinkDown {LINK_DOWN} {IF_INDEX} {IF_ADMIN_STATUS} {IF_OPER_STATUS}",
        f'monitor -r 1 -S -e eyenetLinkUp "linkUp" {IF_OPER_STATUS} != 2',
        f'monitor -r 1 -S -e eyenetLinkDown "linkDown" {IF_OPER_STATUS} == 2',
    ])


@pytest.fixture
def lab(tmp_path):
    with lldp_lab.lab_for_test(tmp_path / "lab") as lab:
        yield lab


async def test_link_down_brings_status_and_alert_within_two_seconds(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", "trap-lab-password")
    port = agents.free_udp_port()
    sink: list[str] = []

    def conf(node) -> str:
        sink.append(node.host_address)
        return link_notifications(f"{node.host_address}:{port}", node.host_address)

    r1 = await trio.to_thread.run_sync(lambda: lab.add_node("r1", capabilities=("router",), snmpd_conf=conf))
    s1 = await trio.to_thread.run_sync(lambda: lab.add_node("s1"))
    await trio.to_thread.run_sync(lab.link, r1, s1, "eth1", "eth1")
    await trio.run_process(["snmpset", "-v2c", "-c", "eyenetlab", r1.target(), IF_TABLE_CACHE_TIMEOUT, "i", "0"],
                           env=agents.netsnmp_env(tmp_path), capture_stdout=True)
    config = Config(
        path="t", store=StoreSettings(str(tmp_path / "eyenet.db")), web=WebSettings(host="127.0.0.1", port=0),
        devices=(DeviceConfig("r1", r1.address, community=r1.community, poll_interval=3600),),
        traps=TrapsSettings(enabled=True, address=sink[0], port=port),
    )
    seen: list[tuple[float, object]] = []
    async with trio.open_nursery() as nursery:
        services = await nursery.start(app.run, config)
        poller, traps = services.poller, services.traps
        nursery.start_soon(watch, services.hub.bus, seen)
        # The first poll (within 10 s of the start) sees eth1 up; the next is an hour away.
        with trio.fail_after(20):
            while poller.states["r1"].status != "up":
                await trio.sleep(0.1)
        await trio.sleep(1.5)  # past the gap between brought-forward polls, and a sample of the monitors
        seen.clear()
        # The far end goes down: r1's eth1 stays admin up, oper down (no carrier). Timed from
        # when `ip` has done it: starting a process on a loaded machine can take longer than
        # all that follows.
        await trio.run_process(["ip", "-n", s1.netns, "link", "set", "eth1", "down"])
        went_down = trio.current_time()
        with trio.fail_after(10):
            while not (status_at(seen) and alert_at(seen)):
                await trio.sleep(0.02)
        status, alert = status_at(seen), alert_at(seen)
        print(f"linkDown -> device:status {status[0] - went_down:.2f} s, alert:new {alert[0] - went_down:.2f} s")
        assert status[1].status == "degraded" and "eth1" in status[1].reason
        assert alert[1].rule_id == "interface-down"
        assert status[0] - went_down < WITHIN and alert[0] - went_down < WITHIN
        assert traps.polls_brought_forward >= 1 and traps.unknown == 0
        # lldpd, snmpd's AgentX subagent, tells of the lost neighbour too: that trap is published.
        with trio.fail_after(10):
            while not any(isinstance(e, Trap) and e.trap_oid == LLDP_REM_TABLES_CHANGE for _, e in seen):
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()


def status_at(seen):
    return next(((t, e) for t, e in seen if isinstance(e, DeviceStatus) and e.status == "degraded"), None)


def alert_at(seen):
    return next(((t, e) for t, e in seen if isinstance(e, AlertNew) and e.device_id == "r1"), None)


async def watch(bus, seen: list) -> None:
    with bus.subscribe(types=(DeviceStatus, AlertNew, Trap), name="test") as events:
        async for event in events:
            seen.append((trio.current_time(), event))
