"""The push server in a real browser: headless Chromium (Debian's /usr/bin/chromium,
driven by playwright-core from tests/js/browser_check.js) runs the seed's connection
snippet unchanged against the running demo.

The pages (tests/js/browser/) come from a second origin, a tiny static HTTP server on
another loopback port, together with the browser build of the stock socket.io-client; so
the Engine.IO long-polling XHRs to EyeNet are cross-origin and the browser itself checks
EyeNet's CORS headers. The server fills in only the snippet's port and token.

Cases, all in one browser, side by side:
  seed         the snippet, default transports (polling, then the upgrade), origin
               http://127.0.0.1:S: EyeNet answers `Access-Control-Allow-Origin: *`
  bad_token    the same page with a forged token: connect_error, data.code AUTH_INVALID
  credentials  the snippet plus `withCredentials: true` from http://localhost:S, which the
               test adds to the allow-list: the origin echoed with credentials allowed
  preflight    the snippet plus `extraHeaders`: every polling XHR is preflighted (OPTIONS)
  plain_ws     `new WebSocket('ws://localhost:PORT/ws?token=...')`: ack and device:metrics
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import threading
import urllib.parse
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import attrs
import pytest
import trio
from test_app_push import PASSWORD, login

from eyenet import app
from eyenet.demo.lab import start_lab
from eyenet.demo.run import demo_config

pytestmark = pytest.mark.slow

JS_DIR = Path(__file__).resolve().parent / "js"
PAGES = JS_DIR / "browser"
SOCKET_IO_BUNDLE = JS_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
CHECK = JS_DIR / "browser_check.js"
CHROMIUM = Path("/usr/bin/chromium")
PAGE_WAIT = 60.0  # seconds a page has to see everything (the demo's first metrics come within ~20 s of its start)
RUN_WAIT = 150.0  # the whole browser run, launch and shutdown included


def requirements() -> str:
    """node's path, or a clear failure: this test never skips."""
    missing = []
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        missing.append("node (apt-get install nodejs npm)")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if not (JS_DIR / "node_modules" / "playwright-core").is_dir() or not SOCKET_IO_BUNDLE.is_file():
        missing.append("playwright-core and socket.io-client in tests/js (npm ci --prefix tests/js)")
    if missing:
        pytest.fail(
            "the browser test needs " + "; ".join(missing) + ". scripts/test.sh installs all of them.", pytrace=False
        )
    return node


class _PageHandler(http.server.BaseHTTPRequestHandler):
    """The pages, with the snippet's port and token filled in, record.js and the
    browser build of socket.io-client; nothing else."""

    eyenet_port: int  # set on the subclass made per server

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        url = urllib.parse.urlsplit(self.path)
        name = url.path.lstrip("/")
        if name == "socket.io.min.js":
            return self._send(SOCKET_IO_BUNDLE.read_bytes(), "text/javascript")
        if name == "record.js":
            return self._send((PAGES / name).read_bytes(), "text/javascript")
        if re.fullmatch(r"[a-z-]+\.html", name) and (PAGES / name).is_file():
            token = urllib.parse.parse_qs(url.query).get("token", [""])[0]
            if not re.fullmatch(r"[A-Za-z0-9._-]*", token):
                return self._send(b"bad token characters", "text/plain", 400)
            page = (PAGES / name).read_text()
            page = page.replace("ws://localhost:5000/ws", f"ws://localhost:{self.eyenet_port}/ws")
            page = page.replace("your_jwt_token", token)
            return self._send(page.encode(), "text/html; charset=utf-8")
        if name == "favicon.ico":
            return self._send(b"", "image/x-icon", 204)  # keeps the console free of a 404
        return self._send(b"not found", "text/plain", 404)

    def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass


@contextmanager
def page_server():
    """The second origin: a stdlib HTTP server on a free loopback port, in a thread.
    Yields (server, port); the EyeNet port is set on it once EyeNet listens."""
    handler = type("PageHandler", (_PageHandler,), {"eyenet_port": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield handler, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@asynccontextmanager
async def running_demo(tmp_path, monkeypatch, cors_origins: tuple[str, ...], token_ttl: int | None = None):
    """The demo on a free loopback port with these CORS origins (and this token lifetime):
    (port, services)."""
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", PASSWORD)
    async with start_lab(tmp_path / "lab", distinct_hosts=True) as lab, trio.open_nursery() as nursery:
        config = demo_config(lab, tmp_path, port=0)
        config = attrs.evolve(config, web=attrs.evolve(config.web, host="127.0.0.1", cors_origins=cors_origins))
        if token_ttl is not None:
            config = attrs.evolve(config, auth=attrs.evolve(config.auth, token_ttl=token_ttl))
        services = await nursery.start(app.run, config)
        yield services.addresses[0][1], services
        nursery.cancel_scope.cancel()


async def run_browser(node: str, cases: dict[str, str]) -> dict:
    """browser_check.js on these pages: {name: report}."""
    command = [node, str(CHECK), *(f"{name}={url}" for name, url in cases.items())]
    environment = {"EYENET_PAGE_TIMEOUT_MS": str(int(PAGE_WAIT * 1000)), "EYENET_TIMEOUT_MS": str(int(RUN_WAIT * 1000))}
    with trio.fail_after(RUN_WAIT + 10):
        done = await trio.run_process(
            command, capture_stdout=True, capture_stderr=True, check=False, env={**os.environ, **environment}
        )
    assert done.returncode == 0, f"browser_check.js exited {done.returncode}: {done.stderr.decode(errors='replace')}"
    return json.loads(done.stdout)["cases"]


def forged(token: str) -> str:
    """The token with its signature replaced: well formed, refused."""
    head, _, signature = token.rpartition(".")
    return f"{head}.{'A' * len(signature) if set(signature) != {'A'} else 'B' * len(signature)}"


def seen(report: dict, what: str) -> list[dict]:
    return [s for s in (report["results"] or {}).get("seen", []) if s["what"] == what]


def explain(name: str, report: dict) -> str:
    return f"{name}: the browser reported {json.dumps(report, indent=1)}"


def assert_metrics_envelope(args: list) -> None:
    envelope, offset = args  # the envelope, then the event id as Socket.IO's recovery offset
    assert envelope["type"] == "device:metrics" and offset == str(envelope["id"])
    data = envelope["data"]
    assert set(data) == {"deviceId", "metrics", "timestamp"}  # the firehose has no interfaces
    assert set(data["metrics"]) == {"cpu", "memory", "bandwidth"}
    assert set(data["metrics"]["bandwidth"]) == {"in", "out"}


def assert_cross_origin_polling(name: str, report: dict, origin: str, allow_origin: str) -> None:
    """The page polled EyeNet cross-origin and every polling answer let it read the body."""
    polls = [r for r in report["engineResponses"] if "transport=polling" in r["url"] and r["method"] != "OPTIONS"]
    assert polls, explain(name, report)
    for response in polls:
        assert response["origin"] == origin, explain(name, response)
        assert response.get("headers", {}).get("access-control-allow-origin") == allow_origin, explain(name, response)
    assert not any("CORS" in m["text"] for m in report["console"]), explain(name, report)


async def test_the_seed_snippet_in_headless_chromium_from_another_origin(tmp_path, monkeypatch):
    node = requirements()
    with page_server() as (handler, page_port):
        plain_origin = f"http://127.0.0.1:{page_port}"  # allowed by "*"
        credentialed_origin = f"http://localhost:{page_port}"  # on the allow-list
        async with running_demo(tmp_path, monkeypatch, (credentialed_origin, "*")) as (port, services):
            handler.eyenet_port = port
            token = (await login(port))["token"]
            reports = await run_browser(node, {
                "seed": f"{plain_origin}/seed.html?token={token}",
                "bad_token": f"{plain_origin}/seed.html?token={forged(token)}",
                "credentials": f"{credentialed_origin}/credentials.html?token={token}",
                "preflight": f"{plain_origin}/preflight.html?token={token}",
                "plain_ws": f"{plain_origin}/plain-ws.html?token={token}",
            })

    for name in ("seed", "credentials", "preflight"):
        report = reports[name]
        assert report["done"], explain(name, report)
        results = report["results"]
        assert results["ack"] == [{"status": "subscribed", "channel": "devices"}], explain(name, report)
        assert_metrics_envelope(results["metrics"])
        # Long-polling first, then the upgrade to WebSocket.
        assert [s["transport"] for s in seen(report, "open")] == ["polling"], explain(name, report)
        assert [s["transport"] for s in seen(report, "upgrade")] == ["websocket"], explain(name, report)
        assert results["transport"] == "websocket"
        assert not seen(report, "connect_error") and not report["pageErrors"], explain(name, report)

    # Every allowed origin is echoed (with credentials allowed), "*" included.
    assert_cross_origin_polling("seed", reports["seed"], plain_origin, plain_origin)
    assert_cross_origin_polling("preflight", reports["preflight"], plain_origin, plain_origin)
    assert_cross_origin_polling("credentials", reports["credentials"], credentialed_origin, credentialed_origin)
    for response in reports["credentials"]["engineResponses"]:
        if "transport=polling" in response["url"]:
            allowed = response.get("headers", {}).get("access-control-allow-credentials")
            assert allowed == "true", explain("credentials", response)
    # Chromium preflighted the polling XHRs carrying the custom header (DevTools saw the
    # OPTIONS), EyeNet allowed it, so the XHRs went out with it; the seed's own XHRs are
    # "simple" requests: no preflight.
    report = reports["preflight"]
    assert report["preflights"], explain("preflight", report)
    for preflight in report["preflights"]:
        assert preflight["status"] == 204, explain("preflight", preflight)
        assert preflight["headers"].get("access-control-allow-origin") == plain_origin, explain("preflight", preflight)
        allowed = preflight["headers"].get("access-control-allow-headers", "").lower()
        assert "x-dashboard" in allowed, explain("preflight", preflight)
    sent = [r.get("sent", {}).get("x-dashboard") for r in report["engineResponses"]]
    assert set(sent) == {"eyenet-test"}, explain("preflight", report)
    assert not reports["seed"]["preflights"] and not reports["credentials"]["preflights"], explain("seed", reports["seed"])

    report = reports["bad_token"]
    assert report["done"], explain("bad_token", report)
    error = report["results"]["connect_error"]
    assert error["data"]["code"] == "AUTH_INVALID" and error["active"] is False, explain("bad_token", report)
    assert isinstance(error["message"], str) and error["message"], explain("bad_token", report)
    assert not seen(report, "connect") and not seen(report, "reconnect_attempt"), explain("bad_token", report)

    report = reports["plain_ws"]
    assert report["done"], explain("plain_ws", report)
    results = report["results"]
    assert results["ack"] == {"type": "ack", "ref": 1, "data": {"status": "subscribed", "channel": "devices"}}
    envelope = results["metrics"]
    assert envelope["type"] == "device:metrics" and isinstance(envelope["id"], int)
    assert set(envelope["data"]) == {"deviceId", "metrics", "timestamp"}
    assert set(envelope["data"]["metrics"]) == {"cpu", "memory", "bandwidth"}
