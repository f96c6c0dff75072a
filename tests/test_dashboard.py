"""The dashboard EyeNet serves at /: its committed build, how it is served, and the page
itself in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core from
tests/js/dashboard_check.js) against the running demo, under the page's strict
Content-Security-Policy."""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import trio
from restclient import api
from test_app_push import PASSWORD, login
from test_browser import CHROMIUM, JS_DIR, requirements, running_demo

from eyenet.web.dashboard.serve import IMMUTABLE, PAGE_POLICY, Dashboard
from eyenet.web.http import Request

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "dashboard"
STATIC = REPO / "eyenet" / "web" / "dashboard" / "static"
CHECK = JS_DIR / "dashboard_check.js"
BUDGET = 600 * 1024  # bytes on the wire for the whole page, compressed
RUN_WAIT = 240.0
# Tokens this short make the page refresh its token (over REST, then auth:refresh in band)
# during the walk; it must stay live past several lifetimes.
TOKEN_TTL = 8
REFRESHES = 3
# The deadlines: the 8 devices listed and a number of them changed within LIVE_WAIT
# of logging in; the core router's CPU spike in its chart and its alert as a toast within
# ALERT_WAIT of the demo's start (the spike begins 40 s in, the alert 20 s later).
LIVE_WAIT = 20.0
ALERT_WAIT = 120.0
SCOPED = ("scoped-admin", "scoped-admin-passphrase", "router")  # a scoped admin: the core router only
# Where the screenshots of the walk are kept when EYENET_SCREENSHOTS does not say: beside the
# tests, ignored by git (.ci/run points it outside its temporary clone instead).
SHOTS = REPO / ".ci" / "artifacts" / "screenshots"
VIEWS_SHOT = ("devices.png", "device.png", "device-cpu-spike.png", "alerts.png", "topology.png", "anomaly.png", "users.png",
              "rules.png", "maintenance.png", "scoped-devices.png", "scoped-topology.png", "scoped-alerts.png",
              "devices-phone-dark.png", "viewer-alerts-phone-dark.png")


def get(dashboard: Dashboard, path: str, method: str = "GET", **headers: str):
    request = Request(method, path, path, {}, tuple((k.replace("_", "-"), v) for k, v in headers.items()), b"", None)
    return dashboard.http(request)


def header(response, name: str) -> str | None:
    return dict(response.headers).get(name)


def assets_named(index: bytes) -> list[str]:
    return re.findall(r'"/assets/([^"]+)"', index.decode())


def test_the_page_names_assets_that_are_served_and_fit_the_budget():
    dashboard = Dashboard()
    named = assets_named(dashboard.index)
    assert sorted(Path(n).suffix for n in named) == [".css", ".js"]
    assert set(named) == set(dashboard.assets), "assets left over from an earlier build, or missing"
    for name in named:
        assert re.fullmatch(r"main-[A-Z0-9]{8}\.(js|css)", name), name
        assert dashboard.assets[name].gzipped is not None
    on_the_wire = len(dashboard.index) + sum(len(a.gzipped) for a in dashboard.assets.values())
    assert on_the_wire < BUDGET
    licences = dashboard.licenses.decode()
    for package in ("socket.io-client", "engine.io-client", "uplot"):
        assert re.search(rf"^{re.escape(package)} \S+ \(MIT\)$", licences, re.M), package


def test_index_is_revalidated_and_hashed_assets_kept_for_good():
    dashboard = Dashboard()
    page = get(dashboard, "/")
    assert page.status == 200 and header(page, "cache-control") == "no-cache"
    assert header(page, "content-security-policy") == PAGE_POLICY
    assert "'unsafe-inline'" not in PAGE_POLICY and "'unsafe-eval'" not in PAGE_POLICY
    js = next(n for n in dashboard.assets if n.endswith(".js"))
    plain = get(dashboard, f"/assets/{js}")
    assert plain.status == 200 and header(plain, "cache-control") == IMMUTABLE
    assert header(plain, "content-type").startswith("text/javascript") and header(plain, "content-encoding") is None
    assert plain.body == dashboard.assets[js].body
    zipped = get(dashboard, f"/assets/{js}", accept_encoding="br, gzip;q=0.8")
    assert header(zipped, "content-encoding") == "gzip" and header(zipped, "vary") == "Accept-Encoding"
    refused = get(dashboard, f"/assets/{js}", accept_encoding="gzip;q=0, br")
    assert header(refused, "content-encoding") is None
    missing = get(dashboard, "/assets/main-AAAAAAAA.js")
    assert missing.status == 404 and json.loads(missing.body)["error"]["code"] == "NOT_FOUND"
    posted = get(dashboard, "/", method="POST")
    assert posted.status == 405 and header(posted, "allow") == "GET, HEAD"
    assert get(dashboard, "/third-party-licenses.txt").status == 200


def test_the_committed_build_is_what_the_sources_make(tmp_path):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None or not (SOURCES / "node_modules" / "esbuild").is_dir():
        pytest.fail("this needs node and dashboard/node_modules: scripts/test.sh installs them "
                    "(npm ci --prefix dashboard --ignore-scripts)", pytrace=False)
    done = subprocess.run([node, str(SOURCES / "build.mjs"), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    built = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p.relative_to(STATIC): p.read_bytes() for p in STATIC.rglob("*") if p.is_file()}
    assert sorted(built) == sorted(committed), "run scripts/build-dashboard.sh and commit its output"
    changed = [str(name) for name in built if built[name] != committed[name]]
    assert not changed, f"{changed} differ from the sources: run scripts/build-dashboard.sh and commit its output"


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def explain(report: dict) -> str:
    return f"the browser reported {json.dumps(report, indent=1)}"


def assert_clean(report: dict) -> None:
    """No console message, page error, failed or refused request, nor CSP violation."""
    assert "error" not in report, explain(report)
    assert not report["console"] and not report["pageErrors"], explain(report)
    assert not report["failedRequests"] and not report["badResponses"], explain(report)
    assert report["cspViolations"] == [], explain(report)


@pytest.mark.slow
async def test_the_dashboard_in_headless_chromium_against_the_demo(tmp_path, monkeypatch):
    node = requirements()
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)", pytrace=False)
    shots = Path(os.environ.get("EYENET_SCREENSHOTS") or SHOTS)
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()  # a view that is not reached again leaves no picture of an earlier run
    started = time.time()  # before the lab: its schedule (the spike 40 s in) counts from about here
    async with running_demo(tmp_path, monkeypatch, (), token_ttl=TOKEN_TTL) as (port, services):
        # Served through the real front, with the page's own policy in place of the port's.
        status, headers, page = await trio.to_thread.run_sync(fetch, port, "/")
        assert status == 200 and headers["content-security-policy"] == PAGE_POLICY
        js = next(n for n in assets_named(page) if n.endswith(".js"))
        status, headers, body = await trio.to_thread.run_sync(fetch, port, f"/assets/{js}", {"Accept-Encoding": "gzip"})
        assert status == 200 and headers["content-encoding"] == "gzip" and headers["cache-control"] == IMMUTABLE

        token = (await login(port))["token"]
        status, body = await api(port, "POST", "/api/users", token, {"username": "watcher", "password": "watcher-passphrase", "role": "viewer"})
        assert status == 201, body
        command = [node, str(CHECK), f"http://127.0.0.1:{port}/", "admin", PASSWORD, "watcher", "watcher-passphrase", *SCOPED[:2], str(shots)]
        environment = {**os.environ, "EYENET_STEP_TIMEOUT_MS": "40000", "EYENET_TIMEOUT_MS": str(int(RUN_WAIT * 1000)),
                       "EYENET_REFRESHES": str(REFRESHES), "EYENET_ALERT_WAIT_MS": str(int(ALERT_WAIT * 1000)),
                       "EYENET_DEMO_START_MS": str(int(started * 1000)), "EYENET_LIVE_WAIT_MS": str(int(LIVE_WAIT * 1000)),
                       "EYENET_SCOPED_TAG": SCOPED[2]}
        with trio.fail_after(RUN_WAIT + 10):
            done = await trio.run_process(command, capture_stdout=True, capture_stderr=True, check=False, env=environment)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        reports = json.loads(done.stdout)
        (shots / "walk.json").write_text(json.dumps(reports, indent=1))  # what the browser saw, beside its pictures
        acknowledged = reports["admin"].get("acknowledged")
        token = (await login(port))["token"]  # the first one has expired by now
        status, alert = await api(port, "GET", f"/api/alerts/{acknowledged}", token) if acknowledged else (None, None)
        status, users = await api(port, "GET", "/api/users", token)
        admin_id = next(u["id"] for u in users["users"] if u["username"] == "admin")
        job_id = reports["scoped"].get("anomaly", {}).get("jobId")
        status, job = await api(port, "GET", f"/api/ml/jobs/{job_id}", token) if job_id else (None, None)
        status, windows = await api(port, "GET", "/api/maintenance", token)
        status, rules = await api(port, "GET", "/api/rules", token)

    admin = reports["admin"]
    assert_clean(admin)
    assert len(admin["devices"]) == 8 and admin["link"].startswith("live"), explain(admin)
    assert admin["liveUpdate"]["after"] != admin["liveUpdate"]["before"]  # a device:metrics arrived and was shown
    assert admin["liveUpdate"]["afterLogin"] <= LIVE_WAIT * 1000  # the wait's own deadline; said again
    assert admin["filtered"] == ["core-rtr-01"], explain(admin)
    # The tag filter: the lab's devices are tagged with their role.
    assert admin["tags"] == ["", "endpoint", "router", "switch"], explain(admin)
    assert sorted(admin["tagged"]) == sorted(d for d in admin["devices"] if "sw" in d) and len(admin["tagged"]) == 6, explain(admin)
    device = admin["device"]
    assert device["hash"] == "#/device/core-rtr-01", explain(admin)
    facts = device["facts"]
    assert (facts["Vendor"], facts["Model"], facts["Type"]) == ("Cisco", "ASR1000", "router"), explain(admin)
    assert facts["OS"] != "–" and facts["Uptime"] != "–" and device["interfaces"] > 0, explain(admin)
    # What its CPU figure is made of: the processor rows the poll read, counted.
    assert [row[0] for row in device["components"]].count("processor") >= 1, explain(admin)
    assert any(row[0] == "processor" and row[4] == "yes" for row in device["components"]), explain(admin)
    assert device["interfaceChart"] == f"Traffic of {device['firstInterface']}", explain(admin)
    name, alias, speed, admin_status, oper = device["firstRow"][:5]
    assert (name, alias, speed, admin_status, oper) == ("Gi0/0/0", "WAN: ISP-A 1G DIA circuit 4471-XK", "1.0 Gbit/s", "up", "up")
    assert admin["alertColumns"][-1] == "Actions"
    # Still live, and reading REST, three token lifetimes after logging in.
    assert admin["refreshes"] >= REFRESHES and admin["afterRefreshes"] == {"link": "live", "devices": 8}, explain(admin)
    # The network gone: not shown as live; back: live again (the session recovered, or a new one).
    assert not admin["offline"].startswith("live") and admin["online"].startswith("live"), explain(admin)
    # An alert's toast and the header's count; acknowledged in the page, so through REST.
    toast = next(t for t in admin["toasts"] if "core-rtr-01" in t["text"])
    assert "CPU" in toast["text"] and toast["afterStart"] <= ALERT_WAIT * 1000 and int(admin["alertCount"]) >= 1, explain(admin)
    assert admin["spike"]["peak"] >= 90 and admin["spike"]["afterStart"] <= ALERT_WAIT * 1000, explain(admin)
    # Through REST too, by the admin (the alert may have resolved since, when the spike ended).
    assert alert is not None and {"change": "acknowledged", "by": admin_id} in [{k: c[k] for k in ("change", "by")} for c in alert["history"]]
    assert alert["status"] == "resolved" or (alert["status"], alert["updatedBy"]) == ("acknowledged", admin_id), alert
    assert " · new" in admin["history"][0] and f" · acknowledged by {admin_id}" in admin["history"][1], explain(admin)
    # The map: the lab's 8 devices and 13 links (one fewer while the uplink is down), then the flap.
    assert admin["map"]["nodes"] == 8 and admin["map"]["links"] in (12, 13), explain(admin)
    assert "link change" in admin["linkChange"], explain(admin)
    # Admin views: the scoped user made in the page, the other one changed, then deleted.
    assert admin["changedUser"] == ["operator", "switch, endpoint"], explain(admin)
    assert sorted(admin["users"]) == [["admin", "admin", "every device"], [SCOPED[0], "admin", SCOPED[2]], ["watcher", "viewer", ""]]
    assert sorted(u["username"] for u in users["users"]) == ["admin", SCOPED[0], "watcher"]
    assert admin["rule"] == ["memory-very-high", "device.memory > 99 for 60 s", "warning", "tag switch", "api", "no"], explain(admin)
    assert admin["predictionRule"] == "ml.prediction (spike, level_shift) >= 0.8"
    assert "cpu-anomaly" not in admin["rulesLeft"]
    assert "memory-very-high" not in admin["rulesLeft"] and "memory-very-high" not in [r["id"] for r in rules["rules"]]
    assert admin["window"][0] == "srv-mon-01" and admin["window"][3:] == ["disk swap", admin_id, "active"], explain(admin)
    assert windows["windows"] == []  # ended in the page

    # The scoped admin: its one device in the list, on the map and in the alerts; no user or rule changes.
    scoped = reports["scoped"]
    assert_clean(scoped)
    assert scoped["who"] == f"{SCOPED[0]} (admin, {SCOPED[2]})" and scoped["devices"] == ["core-rtr-01"], explain(scoped)
    assert [node for node, monitored in scoped["map"] if monitored] == ["core-rtr-01"], explain(scoped)
    assert scoped["alertDevices"] and set(scoped["alertDevices"]) == {"core-rtr-01"}, explain(scoped)
    assert "users" not in scoped["offered"]["nav"] and "Users are managed by admins without a device scope." in scoped["users"]
    assert scoped["offered"]["rules"] == {"form": 0, "buttons": 0}, explain(scoped)
    assert scoped["offered"]["maintenance"]["form"] == 1, explain(scoped)  # its own devices' windows
    # The anomaly job it ran in the page on its device: the labels and confidence REST has.
    anomaly = scoped["anomaly"]
    assert anomaly["title"] == "core-rtr-01 · cpu" and anomaly["status"] == "completed" == job["status"], explain(scoped)
    # As the page rounds (Math.round: halves up; Python's round() would give 88 for 88.5).
    assert anomaly["labels"] == [[r["label"], f"{math.floor(r['confidence'] * 100 + 0.5)} %"] for r in job["results"]], (job, explain(scoped))

    viewer = reports["viewer"]
    assert_clean(viewer)
    assert viewer["who"] == "watcher (viewer)"
    assert viewer["alertRows"] >= 1, explain(viewer)  # the acknowledged alert, which an operator could resolve
    assert "Actions" not in viewer["alertColumns"] and viewer["alertButtons"] == 0, explain(viewer)
    assert viewer["background"] == "rgb(17, 20, 24)"  # the dark palette, as the browser prefers
    assert viewer["overflow"] <= 0, explain(viewer)  # nothing wider than a phone: wide tables scroll in their box
    assert viewer["offered"].pop("overflow") <= 0, explain(viewer)  # the admin views fit a phone too
    assert viewer["offered"] == {"nav": ["devices", "topology", "alerts", "rules", "maintenance"],
                                 "rules": {"form": 0, "buttons": 0}, "maintenance": {"form": 0, "buttons": 0}}, explain(viewer)
    for name in VIEWS_SHOT:
        assert (shots / name).stat().st_size > 0, name
