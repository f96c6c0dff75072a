"""Interface rates against a real net-snmp snmpd in a namespace, with real traffic through
veth links (tests/lldp_lab.py), polled by EyeNet (app.run) and read through the REST API.

r1 -eth1- h1 carries 740 Mbit/s, r1 -eth2- h1 400 Mbit/s (UDP from r1, tests/lab_traffic.py).
r1's snmpd is read two ways: "r1" with a community whose view leaves out ifXTable (32-bit
counters only, and ifSpeed saturated at 2**32-1 for a veth's 10 Gbit/s: no usable speed),
and "r1v1" over SNMPv1 (32-bit counters, ifHighSpeed 10000: 10 Gbit/s). The test drives
each poll (poll_now) so it knows what each one saw; net-snmp reloads its interface table
at most every 3 s, so polls are STEP apart and the lab's own reads are timed around them.

- eth2's 32-bit counter starts just below its wrap (a burst before the first poll) and
  wraps during the test: every poll gives a rate near what flows, the wrap's included;
- eth1 is deleted and re-created under the same ifIndex (`ip link add ... index N`) while
  traffic flows, between two polls: net-snmp keeps the row, marks it down then up
  (ifLastChange moves) and its counter goes backwards. The poll across it has no rate,
  with the reason `counter_reset`, and history shows no spike (a wrap would be ~9 Gbit/s);
- again with a poll while it is down: the status change across the backwards counter
  is a reset too;
- over SNMPv1 every interface of 10 Gbit/s, polled every STEP s (> 3.1 s, the time a 32-bit
  octet counter takes to wrap at 10 Gbit/s), has no rate and the reason `too_long`.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import agents
import lldp_lab
import pytest
import trio
from restclient import api

from eyenet import app
from eyenet.collect import poller
from eyenet.config import Config, SnmpSettings, StoreSettings, WebSettings
from eyenet.devices.model import DeviceConfig

pytestmark = pytest.mark.slow

PASSWORD = "rates-lab-password"
M32 = 1 << 32
STEP = 3.5  # seconds between polls: more than net-snmp's 3 s interface cache, and than 3.1 s
CACHE = 3.5  # seconds after a read for net-snmp's interface table to be read afresh (3 s and a margin)
EAST, WEST = 740e6, 400e6  # bit/s of payload on eth1 and eth2
WAIT = 10.0  # bound on every wait for a poll or a sample
IF_OUT_OCTETS = ".1.3.6.1.2.1.2.2.1.16"
IF_OPER_STATUS = ".1.3.6.1.2.1.2.2.1.8"
IF_XTABLE = ".1.3.6.1.2.1.31.1.1"


def narrow_view(node) -> str:
    """A community 'narrow' that sees everything but ifXTable: 32-bit counters only."""
    return "\n".join([
        "view no_ifx included .1",
        f"view no_ifx excluded {IF_XTABLE}",
        f"rocommunity narrow {node.subnet} -V no_ifx",
    ])


class RatesLab:
    """The lab, its two links and EyeNet's REST API, as the cases use them."""

    def __init__(self, lab, r1, east, west, port, token):
        self.lab, self.r1, self.east, self.west, self.port, self.token = lab, r1, east, west, port, token
        self.seen: dict[str, str | None] = {}

    async def poll(self, services, *devices: str, first: bool = False) -> dict[str, dict[str, dict]]:
        """Poll `devices` now (first: wait for their first poll, at start); once each has
        answered, its interfaces by name, as the API gives them."""
        for device in devices:
            assert first or services.poller.poll_now(device)
        out = {}
        with trio.fail_after(WAIT):
            for device in devices:
                while True:
                    status, body = await api(self.port, "GET", f"/api/devices/{device}/interfaces", self.token)
                    assert status == 200, body
                    if body["timestamp"] is not None and body["timestamp"] != self.seen.get(device):
                        break
                    await trio.sleep(0.05)
                self.seen[device] = body["timestamp"]
                out[device] = {itf["name"]: itf for itf in body["interfaces"]}
        return out

    def index(self, port: str) -> int:
        """r1's ifIndex of `port` (also while it is deleted)."""
        return {"eth1": self.east, "eth2": self.west}[port].a_index

    async def history(self, device: str, port: str) -> list[float]:
        index = self.index(port)
        status, body = await api(self.port, "GET", f"/api/devices/{device}/metrics?metric=if.{index}.out&step=0", self.token)
        assert status == 200, body
        return [p["avg"] for p in body["points"]]

    async def out_octets(self, port: str) -> tuple[int, int]:
        """(ifOutOctets, ifOperStatus) of r1's `port`, read by the lab (a read reloads net-snmp's cache when old)."""
        index = self.index(port)
        rows = await trio.to_thread.run_sync(lambda: agents.snmpget(
            self.r1.snmpd, f"{IF_OUT_OCTETS}.{index}", f"{IF_OPER_STATUS}.{index}"))
        return rows[0][2], rows[1][2]


async def settle_cache() -> None:
    await trio.sleep(CACHE)


async def test_rates_hold_across_a_wrap_a_recreated_interface_and_slow_polls(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", PASSWORD)
    # Every poll is the test's: the first at start, not at a random moment of the first 10 s
    # (with an hour's interval, the next scheduled one is half an hour away at least).
    monkeypatch.setattr(poller, "FIRST_POLL_SPREAD", 0.0)
    with lldp_lab.lab_for_test(tmp_path / "lab") as lab:
        r1 = await trio.to_thread.run_sync(lambda: lab.add_node("r1", capabilities=("router",), snmpd_conf=narrow_view))
        h1 = await trio.to_thread.run_sync(lambda: lab.add_node("h1", capabilities=("station",)))
        east = await trio.to_thread.run_sync(lambda: lab.link(r1, h1, "eth1", "eth1", addresses=True, mtu=65000))
        west = await trio.to_thread.run_sync(lambda: lab.link(r1, h1, "eth2", "eth2", addresses=True, mtu=65000))
        # eth2's counter to ~WEST x 18 s short of its wrap: it wraps about half-way through the polls.
        burst = M32 - int(WEST / 8 * 18)
        sent = await trio.to_thread.run_sync(lambda: lab.traffic(west, octets=burst, seconds=30).wait())
        assert sent >= burst
        # Before EyeNet's first poll, snmpd lists the links (once its interface cache is reloaded).
        await trio.to_thread.run_sync(lambda: lldp_lab.wait_until(
            lambda: len(agents.snmpwalk(r1.snmpd, IF_OPER_STATUS)) == 4, WAIT, "snmpd to list eth1 and eth2"))

        def device(name: str, **kw) -> DeviceConfig:
            return DeviceConfig(id=name, host=r1.address, port=r1.port, poll_interval=3600, **kw)

        config = Config(
            path="rates lab", snmp=SnmpSettings(timeout=1, retries=1), store=StoreSettings(path=str(tmp_path / "eyenet.db")),
            devices=(device("r1", community="narrow"), device("r1v1", community="public", version="1")),
            web=WebSettings(host="127.0.0.1", port=0),
        )
        with lab.traffic(east, rate=EAST, seconds=50), lab.traffic(west, rate=WEST, seconds=50):
            await settle_cache()
            async with trio.open_nursery() as nursery:
                services = await nursery.start(app.run, config)
                port = services.addresses[0][1]
                status, session = await api(port, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})
                assert status == 200, session
                t = RatesLab(lab, r1, east, west, port, session["token"])
                await run_cases(t, services)
                nursery.cancel_scope.cancel()


async def run_cases(t: RatesLab, services) -> None:
    first_west, _ = await t.out_octets("eth2")
    print(f"eth2's 32-bit counter before the first poll: {first_west} ({M32 - first_west} short of its wrap)")
    polls = [await t.poll(services, "r1", "r1v1", first=True)]
    first = polls[0]["r1"]
    assert first["eth1"]["out"] is None and first["eth1"]["rateReason"].startswith("no_previous:")
    # No usable speed through the narrow view: ifSpeed saturated, no ifHighSpeed.
    assert first["eth1"]["speed"] is None and first["eth2"]["speed"] is None
    for _ in range(3):
        await trio.sleep(STEP)
        polls.append(await t.poll(services, "r1", "r1v1"))

    # SNMPv1 on 10 Gbit/s, polled every STEP s: 32-bit counters too small, and the API says so.
    v1 = polls[-1]["r1v1"]
    for name in ("eth1", "eth2"):
        assert v1[name]["speed"] == 10_000_000_000, v1[name]
        assert v1[name]["out"] is None and v1[name]["in"] is None, v1[name]
        assert v1[name]["rateReason"].startswith("too_long:"), v1[name]

    # eth1 deleted and made again under the same ifIndex between two polls, traffic flowing.
    before, _ = await t.out_octets("eth1")  # read with the last poll: the cache is fresh
    index = t.lab.if_index(t.r1, "eth1")
    await trio.to_thread.run_sync(lambda: t.lab.cut(t.east))
    await settle_cache()
    _, down = await t.out_octets("eth1")
    assert down == 2, "net-snmp keeps the deleted interface's row, down"
    await trio.to_thread.run_sync(lambda: t.lab.restore(t.east, same_index=True))
    assert t.lab.if_index(t.r1, "eth1") == index
    await settle_cache()
    after, up = await t.out_octets("eth1")
    assert up == 1 and after < before, (before, after)  # the counter went backwards: the case is real
    polls.append(await t.poll(services, "r1", "r1v1"))
    across = polls[-1]["r1"]["eth1"]
    assert across["out"] is None and across["rateReason"].startswith("counter_reset:"), across
    assert across["status"] == "up" and polls[-2]["r1"]["eth1"]["status"] == "up"  # only ifLastChange says so
    await trio.sleep(STEP)
    polls.append(await t.poll(services, "r1", "r1v1"))
    assert polls[-1]["r1"]["eth1"]["out"] is not None  # rates again at the next poll

    # Again, with a poll while it is down: the status change across the backwards counter.
    before, _ = await t.out_octets("eth1")
    await trio.to_thread.run_sync(lambda: t.lab.cut(t.east))
    await settle_cache()
    polls.append(await t.poll(services, "r1", "r1v1"))
    assert polls[-1]["r1"]["eth1"]["status"] == "down"
    await trio.to_thread.run_sync(lambda: t.lab.restore(t.east, same_index=True))
    await settle_cache()
    polls.append(await t.poll(services, "r1", "r1v1"))
    after, _ = await t.out_octets("eth1")
    back = polls[-1]["r1"]["eth1"]
    assert back["status"] == "up" and after < before, (back, before, after)
    assert back["out"] is None and back["rateReason"].startswith("counter_reset:"), back
    await trio.sleep(STEP)
    polls.append(await t.poll(services, "r1", "r1v1"))

    # eth2 wrapped once meanwhile, and every one of its rates is what flowed.
    last_west, _ = await t.out_octets("eth2")
    assert last_west < first_west, (first_west, last_west)
    west = [p["r1"]["eth2"] for p in polls[1:]]
    assert all(w["out"] is not None for w in west), west
    # The sender may fall behind its pace on a busy machine, never ahead of it. Each rate is
    # near the others: net-snmp's cache (and its accounting just after a re-creation) skews
    # one by up to one interval's worth, while a wrap misread is ~10 Gbit/s, or no rate.
    usual = statistics.median(w["out"] for w in west)
    assert 0.5 * WEST < usual < 1.1 * WEST, usual
    assert all(0.3 * usual < w["out"] < 3 * usual for w in west), [w["out"] for w in west]

    # History: every eth2 sample, and eth1 without a spike nor the samples across the resets.
    with trio.fail_after(WAIT):
        while len(await t.history("r1", "eth2")) < len(west):
            await trio.sleep(0.1)
    history = await t.history("r1", "eth1")
    print(f"eth1 out history (Mbit/s): {[round(v / 1e6) for v in history]}")
    print(f"eth2 out (Mbit/s): {[round(w['out'] / 1e6) for w in west]}")
    assert history and max(history) < 2.5 * EAST, history  # a wrap misread: 4.9 to 9.8 Gbit/s
    rated = [p["r1"]["eth1"]["out"] for p in polls[1:] if p["r1"]["eth1"]["out"] is not None]
    assert len(history) == len(rated) == len(polls) - 1 - 2
