"""Alerting and anomaly jobs end to end: `eyenet demo` as operators start it, the stock
Socket.IO client subscribed to `alerts` and `ml`, acknowledgement through REST, jobs
without `from`/`to` as a new user tries them, and a kill -9 of the whole service followed
by a restart on the same data directory. One demo run serves all of it: each costs minutes
of the lab's schedule.

The demo lab's schedule (eyenet/demo/lab.py): core-rtr-01's CPU at 95 % from 40 to
100 s, the acc-sw-02 Te1/1/1 <-> dist-sw-01 Ethernet2 link down from 60 to 90 s;
polls every 10 s; the demo's CPU rule waits 20 s; acc-sw-01's CPU only wanders a little.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
from contextlib import asynccontextmanager

import pytest
import trio
from jsclient import js_client
from restclient import api

pytestmark = pytest.mark.slow

PASSWORD = "alerts-demo-password"
SEED_UPDATE_KEYS = {"alertId", "status", "updatedBy", "timestamp"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """`eyenet demo` in its own process group, so a kill -9 takes the lab down with it (as
    systemd's default KillMode does)."""

    def __init__(self, data_dir, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.log = data_dir / "demo.log"
        self.process: trio.Process | None = None

    async def start(self) -> float:
        """Returns when the REST API answers; the trio time it was launched."""
        launched = trio.current_time()
        with open(self.log, "ab") as log:
            self.process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "eyenet.cli", "demo", "--data-dir", str(self.data_dir), "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "EYENET_ADMIN_PASSWORD": PASSWORD},
            )
        with trio.fail_after(60):
            while True:
                assert self.process.poll() is None, f"eyenet demo exited: {self.log.read_text()[-3000:]}"
                try:
                    status, _ = await api(self.port, "GET", "/api/health")
                    if status == 200:
                        return launched
                except OSError:
                    pass
                await trio.sleep(0.2)

    @asynccontextmanager
    async def subscribed(self, token: str, channel: str, lifetime: float):
        """The stock Socket.IO client, connected and subscribed to `channel` (a type without id)."""
        async with js_client(self.port, token, lifetime=lifetime) as client:
            await client.expect("connect")
            assert await client.emit("subscribe", {"type": channel}) == [{"status": "subscribed", "channel": channel}]
            yield client

    async def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        with trio.fail_after(10):
            await self.process.wait()

    async def login(self) -> tuple[str, str]:
        status, body = await api(self.port, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})
        assert status == 200, body
        claims = json.loads(base64.urlsafe_b64decode(body["token"].split(".")[1] + "=="))
        return body["token"], claims["sub"]


def alert_event(name: str, **want):
    def match(report) -> bool:
        if report["name"] != name:
            return False
        data = report["args"][0]["data"]
        return all(data.get(k) == v for k, v in want.items())
    return match


def prediction_of(job_id: str):
    return alert_event("ml:prediction", jobId=job_id)  # a report of that event with these data fields


async def an_early_job_says_how_long_to_wait(demo: Demo, token: str, client) -> None:
    status, early = await api(demo.port, "POST", "/api/ml/jobs", token, {"deviceId": "acc-sw-01", "metric": "memory"})
    assert status == 202, early
    failed = (await client.expect("event", prediction_of(early["jobId"]), 30))["args"][0]["data"]
    if failed["status"] == "failed":  # the demo may already have 10 polls when the API answers
        status, job = await api(demo.port, "GET", f"/api/ml/jobs/{early['jobId']}", token)
        assert "try again in about" in job["reason"] and "one every 10 s" in job["reason"], job["reason"]


async def jobs_find_the_spike_and_call_a_quiet_device_normal(demo: Demo, token: str, client) -> None:
    """After the spike has come and gone (150 s after start); a rule on predictions, added
    through the API, raises an alert for the spike's and none for the quiet device's."""
    rule = {"id": "anomaly", "metric": "ml.prediction", "op": ">=", "threshold": 0.5, "labels": ["spike", "level_shift"],
            "severity": "warning"}
    status, added = await api(demo.port, "POST", "/api/rules", token, rule)
    assert status == 201 and added["labels"] == ["spike", "level_shift"], added
    jobs = {}
    for device in ("core-rtr-01", "acc-sw-01"):
        status, job = await api(demo.port, "POST", "/api/ml/jobs", token, {"deviceId": device, "metric": "cpu"})
        assert status == 202, job
        jobs[device] = job["jobId"]
    spike = (await client.expect("event", prediction_of(jobs["core-rtr-01"]), 30))["args"][0]["data"]
    quiet = (await client.expect("event", prediction_of(jobs["acc-sw-01"]), 30))["args"][0]["data"]
    assert spike["status"] == "completed", spike
    assert spike["results"][0]["label"] in ("spike", "level_shift") and spike["results"][0]["confidence"] >= 0.5, spike
    assert (quiet["status"], [r["label"] for r in quiet["results"]]) == ("completed", ["normal"]), quiet
    raised = (await client.expect("event", alert_event("alert:new", ruleId="anomaly"), 30))["args"][0]["data"]
    assert (raised["deviceId"], raised["metric"], raised["severity"]) == ("core-rtr-01", "ml.prediction", "warning")
    assert raised["message"] == f"Anomaly: {spike['results'][0]['label']} in cpu", raised
    assert raised["metrics"] == {"value": spike["results"][0]["confidence"], "threshold": 0.5}
    status, job = await api(demo.port, "GET", f"/api/ml/jobs/{jobs['core-rtr-01']}", token)
    assert status == 200 and job["baseline"] == 0  # a short history, judged as a whole


async def test_demo_alerts_and_jobs_reach_a_socketio_client_and_acknowledgements_survive_kill_9(tmp_path):
    demo = Demo(tmp_path, free_port())
    launched = await demo.start()
    try:
        token, admin_id = await demo.login()
        async with demo.subscribed(token, "alerts", lifetime=300) as client:
            assert await client.emit("subscribe", {"type": "ml"}) == [{"status": "subscribed", "channel": "ml"}]
            await an_early_job_says_how_long_to_wait(demo, token, client)

            # Within 2 minutes of start: the CPU spike and both ends of the flapping link.
            remaining = lambda: max(1.0, launched + 120 - trio.current_time())  # noqa: E731
            cpu = await client.expect("event", alert_event("alert:new", deviceId="core-rtr-01", ruleId="cpu-high"), remaining())
            flap = await client.expect("event", alert_event("alert:new", deviceId="acc-sw-02", ruleId="interface-down"), remaining())
            await client.expect("event", alert_event("alert:new", deviceId="dist-sw-01", ruleId="interface-down"), remaining())
            cpu_envelope, cpu_offset = cpu["args"]
            assert cpu_offset == str(cpu_envelope["id"])
            cpu_data = cpu_envelope["data"]
            assert set(cpu_data) == {"alertId", "severity", "deviceId", "message", "timestamp", "metrics", "ruleId", "metric"}
            assert (cpu_data["severity"], cpu_data["message"], cpu_data["metric"]) == (
                "warning", "CPU usage exceeded threshold", "device.cpu")
            assert cpu_data["metrics"]["threshold"] == 90 and cpu_data["metrics"]["value"] > 90
            flap_data = flap["args"][0]["data"]
            assert (flap_data["severity"], flap_data["message"]) == ("info", "Interface Te1/1/1 is down")

            # Acknowledge through REST: exactly the seed's alert:update, updatedBy = the user's id.
            status, acked = await api(demo.port, "POST", f"/api/alerts/{flap_data['alertId']}/acknowledge", token)
            assert status == 200 and (acked["status"], acked["updatedBy"]) == ("acknowledged", admin_id)
            update = await client.expect("event", alert_event("alert:update", alertId=flap_data["alertId"]))
            envelope = update["args"][0]
            assert set(envelope) == {"type", "id", "data"} and set(envelope["data"]) == SEED_UPDATE_KEYS
            assert (envelope["type"], envelope["data"]["status"], envelope["data"]["updatedBy"]) == (
                "alert:update", "acknowledged", admin_id)

            # The spike ends at 100 s: its alert resolves by itself, and so does the link's at 90 s.
            resolved = await client.expect(
                "event", alert_event("alert:update", alertId=cpu_data["alertId"], status="resolved"), 60)
            assert resolved["args"][0]["data"]["updatedBy"] == "system"
            await client.expect("event", alert_event("alert:update", alertId=flap_data["alertId"], status="resolved"), 30)

            # An alert that stays open: a rule added through the API that holds on every device.
            rule = {"id": "cpu-any", "metric": "device.cpu", "op": ">=", "threshold": 0, "severity": "info"}
            status, _ = await api(demo.port, "POST", "/api/rules", token, rule)
            assert status == 201
            devices = set()
            with trio.fail_after(60):
                while len(devices) < 8:  # every lab device's next poll raises one
                    anywhere = await client.expect("event", alert_event("alert:new", ruleId="cpu-any"), 30)
                    devices.add(anywhere["args"][0]["data"]["deviceId"])
            await trio.sleep(max(0.0, launched + 150 - trio.current_time()))
            await jobs_find_the_spike_and_call_a_quiet_device_normal(demo, token, client)
            held_id = anywhere["args"][0]["data"]["alertId"]
            status, _ = await api(demo.port, "POST", f"/api/alerts/{held_id}/acknowledge", token)
            assert status == 200
        await demo.kill9()  # right after the acknowledgement was answered

        await demo.start()
        token, _ = await demo.login()
        async with js_client(demo.port, token, lifetime=120) as client:
            await client.expect("connect")
            await client.emit("subscribe", {"type": "alerts"})
            status, held = await api(demo.port, "GET", f"/api/alerts/{held_id}", token)
            assert status == 200 and (held["status"], held["updatedBy"]) == ("acknowledged", admin_id)
            assert [h["change"] for h in held["history"]] == ["new", "acknowledged"]
            status, before = await api(demo.port, "GET", "/api/alerts?status=active", token)
            held_keys = sorted((a["ruleId"], a["deviceId"]) for a in before["alerts"] if a["ruleId"] == "cpu-any")
            assert held_keys == sorted(("cpu-any", d) for d in devices)  # one per device
            # Two poll rounds later the condition still holds and nothing was raised again.
            await trio.sleep(25)
            assert not [r for r in client.saw("event") if r["name"] == "alert:new" and r["args"][0]["data"].get("ruleId") == "cpu-any"]
            status, after = await api(demo.port, "GET", "/api/alerts?status=active", token)
            assert sorted((a["ruleId"], a["deviceId"]) for a in after["alerts"] if a["ruleId"] == "cpu-any") == held_keys
            status, again = await api(demo.port, "GET", f"/api/alerts/{held_id}", token)
            assert again["status"] == "acknowledged"
            # Everything before the kill is kept: the acknowledged link alert and its history.
            status, flap_after = await api(demo.port, "GET", f"/api/alerts/{flap_data['alertId']}", token)
            assert [(h["change"], h["by"]) for h in flap_after["history"]] == [
                ("new", None), ("acknowledged", admin_id), ("resolved", "system")]
    finally:
        if demo.process is not None and demo.process.poll() is None:
            await demo.kill9()
