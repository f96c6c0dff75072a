"""Anomaly jobs end to end, as a new user tries them: `eyenet demo`, a job without `from`/`to`
150 s after start, the stock Socket.IO client subscribed to `ml`.

The demo lab's schedule (eyenet/demo/lab.py): core-rtr-01's CPU at 95 % from 40 to 100 s,
polls every 10 s; acc-sw-01's CPU only wanders a little.
"""

from __future__ import annotations

import pytest
import trio
from restclient import api
from test_alerts_demo import Demo, alert_event, free_port

pytestmark = pytest.mark.slow


def prediction_of(job_id: str):
    return alert_event("ml:prediction", jobId=job_id)  # a report of that event with these data fields


async def test_jobs_without_a_window_find_the_demo_spike_and_call_a_quiet_device_normal(tmp_path):
    demo = Demo(tmp_path, free_port())
    launched = await demo.start()
    try:
        token, _ = await demo.login()
        async with demo.subscribed(token, "ml", lifetime=240) as client:
            # Too early for the quiet device: the job fails and says how long to wait.
            status, early = await api(demo.port, "POST", "/api/ml/jobs", token, {"deviceId": "acc-sw-01", "metric": "memory"})
            assert status == 202, early
            failed = (await client.expect("event", prediction_of(early["jobId"]), 30))["args"][0]["data"]
            if failed["status"] == "failed":  # the demo may already have 10 polls when the API answers
                status, job = await api(demo.port, "GET", f"/api/ml/jobs/{early['jobId']}", token)
                assert "try again in about" in job["reason"] and "one every 10 s" in job["reason"], job["reason"]

            await trio.sleep(max(0.0, launched + 150 - trio.current_time()))  # the spike has come and gone
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
            status, job = await api(demo.port, "GET", f"/api/ml/jobs/{jobs['core-rtr-01']}", token)
            assert status == 200 and job["baseline"] == 0  # a short history, judged as a whole
    finally:
        if demo.process is not None and demo.process.poll() is None:
            await demo.kill9()
