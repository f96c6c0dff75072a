"""Traps into a running EyeNet: linkDown and its kin bring the device's poll forward, at
once; other notifications do not, and become a `trap` event, stored and served by REST;
senders of no device are counted."""

import agents
import pytest
import trio
from restclient import api

from eyenet import app
from eyenet.config import Config, StoreSettings, TrapsSettings, TrapUser, WebSettings
from eyenet.devices.model import DeviceConfig
from eyenet.events import Trap

pytestmark = pytest.mark.slow


async def send(tool_args: list[str], port: int, tmp_path) -> None:
    done = await trio.run_process(
        ["snmptrap", "-t", "2", "-r", "0", *tool_args[:-1], f"udp:127.0.0.1:{port}", "", *tool_args[-1].split()],
        env=agents.netsnmp_env(tmp_path), capture_stdout=True, capture_stderr=True, check=False,
    )
    assert done.returncode == 0, done.stderr


async def test_a_link_down_trap_polls_the_device_within_two_seconds(tmp_path, snmpd_agent, monkeypatch):
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", "trap-test-password")
    port = agents.free_udp_port()
    device = DeviceConfig("lab", snmpd_agent.host, port=snmpd_agent.port, community=snmpd_agent.community, poll_interval=3600)
    trapper = TrapUser("trapper", "authPriv", "SHA-512", "trap-auth-pass", "AES-256", "trap-priv-pass")
    config = Config(
        path="t", store=StoreSettings(str(tmp_path / "eyenet.db")), devices=(device,), web=WebSettings(host="127.0.0.1", port=0),
        traps=TrapsSettings(enabled=True, address="127.0.0.1", port=port, users=(trapper,)),
    )
    async with trio.open_nursery() as nursery:
        services = await nursery.start(app.run, config)
        poller, traps = services.poller, services.traps
        published = []
        nursery.start_soon(collect_traps, services.hub.bus, published)
        assert traps is not None
        # Wait out the first poll (its slot is within 10 s of the start), so the next is an hour away.
        with trio.fail_after(15):
            while poller.polls < 1 or poller.states["lab"].status is None:
                await trio.sleep(0.1)
        await trio.sleep(1.1)  # past the gap between brought-forward polls
        await send(["-v", "2c", "-c", "public", "1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.2 i 2"], port, tmp_path)
        sent = trio.current_time()
        with trio.fail_after(2):
            while poller.polls < 2:
                await trio.sleep(0.02)
        assert trio.current_time() - sent < 2
        await trio.sleep(1.1)
        v3 = ["-v", "3", "-e", "0x8000000001020304", "-u", "trapper", "-l", "authPriv", "-a", "SHA-512", "-A", "trap-auth-pass",
              "-x", "AES-256", "-X", "trap-priv-pass", "1.3.6.1.6.3.1.1.5.4"]
        await send(v3, port, tmp_path)
        with trio.fail_after(2):
            while poller.polls < 3:
                await trio.sleep(0.02)
        # An enterprise trap is no reason to poll: it is published and stored.
        await send(["-v", "2c", "-c", "public", "1.3.6.1.4.1.8072.2.3.0.1 1.3.6.1.2.1.1.5.0 s lab-name"], port, tmp_path)
        with trio.fail_after(5):
            while traps.listener is None or traps.listener.stats.notifications < 3:
                await trio.sleep(0.02)
        await trio.sleep(0.5)
        assert poller.polls == 3 and traps.polls_brought_forward == 2
        assert traps.health().details["notifications"] == 3
        (event,) = published
        assert (event.device_id, event.trap_oid, event.version, event.source) == ("lab", "1.3.6.1.4.1.8072.2.3.0.1", "2c", "127.0.0.1")
        assert [dict(vb) for vb in event.varbinds] == [{"oid": "1.3.6.1.2.1.1.5.0", "type": "STRING", "value": {"hex": b"lab-name".hex(), "text": "lab-name"}}]
        web = services.addresses[0][1]
        _, login = await api(web, "POST", "/api/auth/login", body={"username": "admin", "password": "trap-test-password"})
        token = login["token"]
        with trio.fail_after(5):  # the store writes traps in batches
            while not (answer := (await api(web, "GET", "/api/devices/lab/traps", token))[1])["traps"]:
                await trio.sleep(0.2)
        assert answer["next"] is None and answer["deviceId"] == "lab"
        (stored,) = answer["traps"]
        assert {k: v for k, v in stored.items() if k != "id"} == event.wire(1, tz=None)["data"] | {"timestamp": stored["timestamp"]}
        assert (await api(web, "GET", "/api/devices/nope/traps", token))[0] == 404
        assert (await api(web, "GET", "/api/devices/lab/traps?limit=0", token))[0] == 400
        nursery.cancel_scope.cancel()


async def collect_traps(bus, into: list) -> None:
    with bus.subscribe(types=(Trap,), name="test") as events:
        async for event in events:
            into.append(event)
