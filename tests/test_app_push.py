"""The push server against the running `eyenet demo`: the simulated lab (snmpsim),
the real poller, the REST login, and the stock clients (npm socket.io-client,
trio-websocket) at the contract's default limits."""

from __future__ import annotations

import http.client
import json
from contextlib import asynccontextmanager

import attrs
import pytest
import trio
from jsclient import js_client
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK
from restclient import api
from trio_websocket import open_websocket_url

from eyenet import app
from eyenet.config import PushSettings
from eyenet.demo.lab import start_lab
from eyenet.demo.run import demo_config

PASSWORD = "demo-admin-password"
pytestmark = pytest.mark.slow


SENSITIVE = "dist-sw-01"


@asynccontextmanager
async def running_demo(tmp_path, monkeypatch):
    """The demo on a free port, one device's payloads marked sensitive: (port, services)."""
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", PASSWORD)
    async with start_lab(tmp_path / "lab", distinct_hosts=True) as lab, trio.open_nursery() as nursery:
        config = attrs.evolve(demo_config(lab, tmp_path, port=0), push=PushSettings(sensitive_devices={SENSITIVE}))
        services = await nursery.start(app.run, config)
        yield services.addresses[0][1], services
        nursery.cancel_scope.cancel()


def _post(port: int, path: str, body: dict) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


async def login(port: int) -> dict:
    status, body = await trio.to_thread.run_sync(_post, port, "/api/auth/login", {"username": "admin", "password": PASSWORD})
    assert status == 200, body
    return body


async def test_seed_snippet_over_both_transports_and_ws_get_live_metrics_from_the_demo(tmp_path, monkeypatch):
    async with running_demo(tmp_path, monkeypatch) as (port, services):
        session = await login(port)
        assert set(session) >= {"token", "expiresAt", "role", "eventKey"} and session["role"] == "admin"
        token = session["token"]
        async with js_client(port, token) as default, js_client(port, token, transports="websocket") as ws_only, \
                open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}") as plain:
            for client in (default, ws_only):
                await client.expect("connect")
                assert await client.emit("subscribe", {"type": "device", "id": "core-rtr-01"}) == [
                    {"status": "subscribed", "channel": "device:core-rtr-01"}
                ]
            await plain.send_message(json.dumps({"type": "subscribe", "ref": 1, "data": {"type": "devices"}}))
            # The demo polls every 10 s (first polls spread over 10 s): metrics arrive within ~20 s.
            for client in (default, ws_only):
                report = await client.expect(
                    "event", lambda r: r["name"] == "device:metrics" and r["args"][0]["data"]["deviceId"] == "core-rtr-01"
                )
                envelope, offset = report["args"]
                assert offset == str(envelope["id"])
                data = envelope["data"]
                assert set(data) == {"deviceId", "metrics", "timestamp", "interfaces"}
                assert set(data["metrics"]) == {"cpu", "memory", "bandwidth"}
                assert 0 <= data["metrics"]["cpu"] <= 100 and data["interfaces"]
            assert (await default.state())["transport"] == "websocket"  # polling, then the upgrade
            # The firehose: clear envelopes, but the sensitive device's arrive as JWE only the
            # login's eventKey opens (checked with a stock JOSE library).
            clear = secret = None
            with trio.fail_after(30):
                while clear is None or secret is None:
                    msg = json.loads(await plain.get_message())
                    if msg["type"] == "device:metrics":
                        if "enc" in msg:
                            secret = msg
                        else:
                            clear = msg
            assert "interfaces" not in clear["data"] and clear["data"]["deviceId"] != SENSITIVE
            assert set(secret) == {"type", "id", "enc"}
            jwe = JWE()
            jwe.deserialize(secret["enc"], key=JWK(kty="oct", k=session["eventKey"]))
            data = json.loads(jwe.payload)
            assert data["deviceId"] == SENSITIVE and set(data["metrics"]) == {"cpu", "memory", "bandwidth"}


async def test_the_1001st_client_event_in_a_minute_disconnects_a_socketio_client(tmp_path, monkeypatch):
    async with running_demo(tmp_path, monkeypatch) as (port, services):
        token = (await login(port))["token"]
        async with js_client(port, token, transports="websocket") as client:
            await client.expect("connect")
            for _ in range(1001):
                await client.send(cmd="emit", name="unsubscribe", data={"type": "ml"})
            error = await client.expect("event", lambda r: r["name"] == "error")
            assert error["args"][0]["data"]["code"] == "RATE_LIMITED"
            assert (await client.expect("disconnect"))["reason"] == "io server disconnect"
            assert len(client.saw("ack")) == 1000


async def test_an_anomaly_job_reaches_a_socketio_client_on_ml_and_topology_is_served(tmp_path, monkeypatch):
    async with running_demo(tmp_path, monkeypatch) as (port, services):
        token = (await login(port))["token"]
        async with js_client(port, token) as client:
            await client.expect("connect")
            assert await client.emit("subscribe", {"type": "ml"}) == [{"status": "subscribed", "channel": "ml"}]
            # A demo just started has a minute of history: the job fails, saying why, and says so on `ml`.
            status, job = await api(port, "POST", "/api/ml/jobs", token, {"deviceId": "core-rtr-01", "metric": "cpu"})
            assert status == 202
            report = await client.expect("event", lambda r: r["name"] == "ml:prediction")
            data = report["args"][0]["data"]
            assert (data["jobId"], data["status"], data["results"], data["deviceId"], data["metric"]) == (
                job["jobId"], "failed", [], "core-rtr-01", "cpu")
            status, stored = await api(port, "GET", f"/api/ml/jobs/{job['jobId']}", token)
            assert stored["status"] == "failed" and "not enough history" in stored["reason"]
        with trio.fail_after(30):
            while len(services.topology.graph.links) < 13:  # the demo lab's 13 LLDP links
                await services.topology.next_cycle()
        status, graph = await api(port, "GET", "/api/topology", token)
        assert {n["id"] for n in graph["nodes"] if n["managed"]} == {d.id for d in services.inventory.configs()}
        # Every service reports to /api/health, and a demo that polls and serves is ok.
        status, health = await api(port, "GET", "/api/health")
        assert status == 200 and set(health["components"]) == {"store", "poller", "bus", "alerts", "topology", "ml", "push", "web"}
        assert health["status"] == "ok", health["reasons"]
        assert health["components"]["poller"]["devices"] == len(services.inventory.configs())
        assert health["components"]["push"]["sessions"] == 0
