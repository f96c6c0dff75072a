"""EyeNet as a service, run as systemd runs it: the real `eyenet` process with a notify
socket of the test's own, stopped with SIGTERM and SIGINT, reloaded with SIGHUP and
killed with SIGKILL, against snmpsim replaying device recordings (and the demo lab).

The only time bounds are timeouts: "exits within 5 s", "a WATCHDOG=1 before the
watchdog would fire".
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import sqlite3
import sys
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import agents
import pytest
import trio
from jsclient import js_client
from restclient import api
from trio_websocket import ConnectionClosed, open_websocket_url

from eyenet.config import WebSettings
from eyenet.web.front import serve
from eyenet.web.http import Response

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "service-test-password"
# Small recordings: six devices polled every second keep polls in flight at any moment.
RECORDINGS = ("sonicwall_sonicos7", "routeros_crs317", "fortigate_60f3g4g", "vmware-esxi", "routeros_rb750gr3", "gaia_15600")
STOP_WITHIN = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def device_toml(device_id: str, agent, recording: str, interval: float = 1.0) -> str:
    return (
        f'[[devices]]\nid = "{device_id}"\nhost = "{agent.host}"\nport = {agent.port}\ncommunity = "{recording}"\n'
        f"poll_interval = {interval}\n\n"
    )


def rule_toml(rule_id: str, threshold: int = 99) -> str:
    return f'[[rules]]\nid = "{rule_id}"\nmetric = "device.cpu"\nop = ">"\nthreshold = {threshold}\nseverity = "warning"\n\n'


def write_config(path: Path, port: int, body: str, web_extra: str = "") -> Path:
    path.write_text(f'[store]\npath = "eyenet.db"\n\n[web]\nhost = "127.0.0.1"\nport = {port}\n{web_extra}\n{body}')
    return path


class Service:
    """One `eyenet` process: its sd_notify messages (trio time, text) and its log."""

    def __init__(self, process: trio.Process, log: Path, port: int | None) -> None:
        self.process = process
        self.log_path = log
        self.port = port
        self.messages: list[tuple[float, str]] = []

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def message(self, needle: str, after: int = 0, wait: float = 60.0) -> int:
        """The index of the first notify message from index `after` on that contains `needle`."""
        with trio.fail_after(wait):
            while True:
                for i in range(after, len(self.messages)):
                    if needle in self.messages[i][1]:
                        return i
                if self.process.poll() is not None:
                    raise AssertionError(f"eyenet exited ({self.process.returncode}) before {needle!r}:\n{self.log()[-3000:]}")
                await trio.sleep(0.02)

    async def stop(self, signum: int) -> tuple[int, float]:
        """Send the signal; (exit status, seconds it took), failing after STOP_WITHIN seconds."""
        sent = trio.current_time()
        self.process.send_signal(signum)
        with trio.fail_after(STOP_WITHIN):
            code = await self.process.wait()
        return code, trio.current_time() - sent

    async def token(self) -> str:
        status, body = await api(self.port, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})
        assert status == 200, body
        return body["token"]


@asynccontextmanager
async def eyenet(tmp_path: Path, *args: str, watchdog_usec: int | None = None, env: dict | None = None,
                 notify_address: str | None = None, port: int | None = None, stdout: int | None = None):
    """`eyenet ARGS` started as systemd would (NOTIFY_SOCKET, WATCHDOG_USEC), in a session of its own;
    stdout and stderr to one log file, unless `stdout` is given (a file descriptor)."""
    path = notify_address or str(tmp_path / "notify.sock")
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    await sock.bind("\0" + path[1:] if path.startswith("@") else path)
    environment = {
        **os.environ, "PYTHONPATH": str(REPO), "EYENET_ADMIN_PASSWORD": PASSWORD, "NOTIFY_SOCKET": path, **(env or {}),
    }
    environment = {name: value for name, value in environment.items() if value is not None}  # None: unset
    if watchdog_usec is not None:
        environment["WATCHDOG_USEC"] = str(watchdog_usec)
    log = tmp_path / "eyenet.log"
    with open(log, "wb") as out:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "eyenet.cli", *args], stdout=out if stdout is None else stdout, stderr=out, env=environment,
            cwd=tmp_path, start_new_session=True,
        )
    service = Service(process, log, port)

    async def receive() -> None:
        while True:
            data = await sock.recv(4096)
            service.messages.append((trio.current_time(), data.decode()))

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            yield service
            nursery.cancel_scope.cancel()
    finally:
        sock.close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            with trio.move_on_after(5):
                await process.wait()


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is pid: their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def running(pid: int) -> bool:
    """In the process table and not a zombie waiting for its reaper."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def stopped_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(r" INFO eyenet: stopped on SIG", line)]


# -- sd_notify ------------------------------------------------------------------------------------


async def test_ready_then_watchdog_at_half_its_period_then_stopping(tmp_path, snmpsim_agent):
    port = free_port()
    conf = write_config(tmp_path / "eyenet.toml", port, device_toml("fw-1", snmpsim_agent, RECORDINGS[0]))
    async with eyenet(tmp_path, "run", "-c", str(conf), watchdog_usec=1_000_000, port=port) as service:
        ready = await service.message("READY=1")
        # The web front listens and the store is open: the API answers at once.
        status, health = await api(port, "GET", "/api/health")
        assert status == 200 and health["components"]["store"]["status"] == "ok", health
        assert "STATUS=1 device (" in service.messages[ready][1]
        assert not any("WATCHDOG=1" in m for _, m in service.messages[:ready])
        last = await service.message("WATCHDOG=1", after=ready)
        for _ in range(8):
            last = await service.message("WATCHDOG=1", after=last + 1)
        pings = [t for t, m in service.messages[ready:] if "WATCHDOG=1" in m]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert max(gaps) < 1.0, gaps  # always before the 1 s watchdog would run out
        assert all(m.startswith("WATCHDOG=1\nSTATUS=1 device (") for _, m in service.messages[ready + 1:])
        await service.message("1 up, 0 degraded, 0 down); 0 push clients")
        count = len(service.messages)
        code, _ = await service.stop(signal.SIGTERM)
        stopping = await service.message("STOPPING=1", after=count, wait=1)
        assert not any("WATCHDOG=1" in m for _, m in service.messages[stopping:])
    assert code == 0, service.log()
    assert len(stopped_lines(service.log())) == 1, service.log()


async def test_no_watchdog_keepalive_for_another_pid_and_an_abstract_notify_socket(tmp_path):
    port = free_port()
    conf = write_config(tmp_path / "eyenet.toml", port, "")
    address = f"@eyenet-test-{os.getpid()}-{port}"
    async with eyenet(tmp_path, "run", "-c", str(conf), watchdog_usec=200_000, notify_address=address,
                      env={"WATCHDOG_PID": "1"}) as service:
        await service.message("READY=1")
        await trio.sleep(0.5)
        code, _ = await service.stop(signal.SIGTERM)
        await service.message("STOPPING=1", wait=1)
    assert code == 0
    assert not any("WATCHDOG=1" in m for _, m in service.messages)


# -- SIGTERM and SIGINT ----------------------------------------------------------------------------


class SlowApp:
    """Answers /slow once `release` is set, anything else at once."""

    def __init__(self) -> None:
        self.release = trio.Event()
        self.entered = trio.Event()

    async def http(self, request):
        if request.path == "/slow":
            self.entered.set()
            await self.release.wait()
        return Response.json({"path": request.path})

    def websocket(self, request):
        return Response.json({}, status=404)


async def read_response(stream) -> bytes:
    data = b""
    while not data.endswith(b"}"):
        chunk = await stream.receive_some()
        assert chunk, data
        data += chunk
    return data


async def test_a_stopping_web_front_refuses_new_connections_closes_idle_ones_and_finishes_answers():
    app, stop = SlowApp(), trio.Event()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            addresses = await nursery.start(lambda task_status: serve(
                app, WebSettings(host="127.0.0.1", port=0), stop=stop, task_status=task_status))
            port = addresses[0][1]
            idle = await trio.open_tcp_stream("127.0.0.1", port)
            await idle.send_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"connection: close" not in (await read_response(idle)).lower()  # kept alive
            busy = await trio.open_tcp_stream("127.0.0.1", port)
            await busy.send_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            await app.entered.wait()
            stop.set()
            assert await idle.receive_some() == b""  # closed (FIN), not reset
            with pytest.raises(OSError):
                await trio.open_tcp_stream("127.0.0.1", port)
            app.release.set()
            answer = await read_response(busy)
            assert answer.startswith(b"HTTP/1.1 200 ") and b"connection: close" in answer.lower()
            assert await busy.receive_some() == b""
        # serve returned by itself: the last connection ended




@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_signal_closes_clients_finishes_polls_and_loses_no_sample(tmp_path, snmpsim_agent, signum):
    port = free_port()
    devices = "".join(device_toml(f"dev-{n}", snmpsim_agent, name) for n, name in enumerate(RECORDINGS))
    conf = write_config(tmp_path / "eyenet.toml", port, devices)
    seen: set[tuple[str, int]] = set()
    async with eyenet(tmp_path, "run", "-c", str(conf), port=port) as service:
        await service.message("READY=1")
        token = await service.token()
        async with js_client(port, token, transports="websocket") as sio_ws, js_client(port, token, transports="polling") as sio_poll, \
                open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}") as ws:
            await sio_ws.expect("connect")
            await sio_poll.expect("connect")
            await ws.send_message(json.dumps({"type": "subscribe", "ref": 1, "data": {"type": "devices"}}))

            async def metrics_until_closed() -> int:
                while True:
                    try:
                        msg = json.loads(await ws.get_message())
                    except ConnectionClosed as closed:
                        return closed.reason.code
                    if msg["type"] == "device:metrics":
                        data = msg["data"]
                        seen.add((data["deviceId"], int(datetime.fromisoformat(data["timestamp"]).timestamp())))

            with trio.fail_after(30):
                while len({device for device, _ in seen}) < len(RECORDINGS) or len(seen) < 3 * len(RECORDINGS):
                    msg = json.loads(await ws.get_message())
                    if msg["type"] == "device:metrics":
                        data = msg["data"]
                        seen.add((data["deviceId"], int(datetime.fromisoformat(data["timestamp"]).timestamp())))
            async with trio.open_nursery() as nursery:
                closed: list[int] = []

                async def follow() -> None:
                    closed.append(await metrics_until_closed())

                nursery.start_soon(follow)
                code, _ = await service.stop(signum)
            assert closed == [1001]
            for client in (sio_ws, sio_poll):
                report = await client.expect("disconnect", wait=5)
                assert report["reason"] == "io server disconnect", client.seen
    log = service.log()
    assert code == 0, log
    assert "Traceback" not in log and " ERROR " not in log, log  # no health alarm as the services stop
    (line,) = stopped_lines(log)
    assert f"stopped on {signal.Signals(signum).name} in " in line and "3 push clients closed" in line, line
    # Every poll whose metrics a client saw has its samples on disk, the last ones included.
    with sqlite3.connect(tmp_path / "eyenet.db") as db:
        stored = set(db.execute("SELECT DISTINCT device_id, ts FROM metrics_raw"))
    assert seen - stored == set(), f"{len(seen - stored)} polls' samples lost of {len(seen)}"


async def test_ctrl_c_during_start_up_is_one_quiet_line(tmp_path):
    async with eyenet(tmp_path, "demo", "--data-dir", str(tmp_path / "demo"), "--port", str(free_port())) as service:
        with trio.fail_after(30):
            # The lab is starting: its snmpsim itself is there, not just any child (a full run
            # once saw the signal land while the process was still importing trio).
            while not (lab := [pid for pid, cmd in children(service.process.pid).items() if "snmpsim" in cmd]):
                await trio.sleep(0.02)
        code, _ = await service.stop(signal.SIGINT)
    log = service.log()
    assert code == 0, log
    assert "Traceback" not in log and "stopped on SIGINT during start-up" in log, log
    assert not any(running(pid) for pid in lab)


# -- no orphan -------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_the_demo_lab_dies_with_eyenet_even_on_sigkill(tmp_path):
    port = free_port()
    async with eyenet(tmp_path, "demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port), port=port) as service:
        await service.message("READY=1")
        lab = children(service.process.pid)
        assert len(lab) == 1 and "snmpsim-command-responder" in next(iter(lab.values())), lab
        (snmpsim,) = lab
        # A parent-death signal is tied to the thread that forked: one from a worker thread
        # that exits when idle (after 10 s in Trio's cache) would take the lab down with it.
        await trio.sleep(12)
        assert running(snmpsim)
        status, health = await api(port, "GET", "/api/health")
        assert health["components"]["poller"]["down"] == 0, health
        os.kill(service.process.pid, signal.SIGKILL)  # the process alone: its group would take the lab too
        with trio.fail_after(5):
            await service.process.wait()
            while running(snmpsim):
                await trio.sleep(0.05)


async def test_the_demo_stops_its_lab_on_sigterm(tmp_path):
    port = free_port()
    async with eyenet(tmp_path, "demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port), port=port) as service:
        await service.message("READY=1")
        lab = list(children(service.process.pid))
        code, _ = await service.stop(signal.SIGTERM)
    assert code == 0, service.log()
    assert lab and not any(running(pid) for pid in lab)
    (line,) = stopped_lines(service.log())
    assert line.endswith("the demo lab stopped"), line


# -- SIGHUP ----------------------------------------------------------------------------------------

PROFILE = """[profile]
name = "acme-os"
vendor = "Acme"

[[match]]
sys_descr = '^Acme Networks'

[[cpu]]
method = "average"
oid = "1.3.6.1.4.1.99999.1.2.1.3"
"""


async def test_sighup_reloads_devices_rules_and_profiles_keeping_clients(tmp_path, snmpsim_agent):
    port = free_port()
    (tmp_path / "profiles").mkdir()
    conf = tmp_path / "eyenet.toml"
    first = device_toml("keep", snmpsim_agent, RECORDINGS[0], 5) + device_toml("gone", snmpsim_agent, RECORDINGS[1], 5)
    write_config(conf, port, '[profiles]\ndir = "profiles"\n\n' + first + rule_toml("old-rule"))
    async with eyenet(tmp_path, "run", "-c", str(conf), port=port) as service:
        await service.message("READY=1")
        token = await service.token()
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}") as ws, js_client(port, token) as sio:
            await sio.expect("connect")
            second = device_toml("keep", snmpsim_agent, RECORDINGS[0], 5) + device_toml("new", snmpsim_agent, RECORDINGS[2], 5)
            (tmp_path / "profiles" / "acme.toml").write_text(PROFILE)
            write_config(conf, port, '[profiles]\ndir = "profiles"\n\n' + second + rule_toml("new-rule"), web_extra="idle_timeout = 7\n")
            count = len(service.messages)
            service.process.send_signal(signal.SIGHUP)
            reloading = await service.message("RELOADING=1", after=count, wait=10)
            assert re.search(r"MONOTONIC_USEC=\d+", service.messages[reloading][1])
            await service.message("READY=1", after=reloading, wait=10)

            status, devices = await api(port, "GET", "/api/devices", token)
            assert status == 200 and {d["id"] for d in devices["devices"]} == {"keep", "new"}, devices
            status, rules = await api(port, "GET", "/api/rules", token)
            ids = {r["id"]: r for r in rules["rules"]}
            assert "old-rule" not in ids and ids["new-rule"]["source"] == "config", rules
            log = service.log()
            assert "devices: added new; removed gone" in log and "rules: added new-rule; removed old-rule" in log, log
            assert "profiles: added acme-os" in log, log
            assert re.search(r"WARNING eyenet: reload: web changed too, which takes a restart", log), log

            # A file that does not check changes nothing and says why.
            conf.write_text(conf.read_text() + '\n[[devices]]\nid = "bad id"\nhost = "x"\n')
            count = len(service.messages)
            service.process.send_signal(signal.SIGHUP)
            await service.message("READY=1", after=count, wait=10)
            assert "reload: " in service.log() and "is not valid, nothing changed" in service.log()
            status, devices = await api(port, "GET", "/api/devices", token)
            assert {d["id"] for d in devices["devices"]} == {"keep", "new"}

            # Both clients are still connected and served.
            await ws.send_message(json.dumps({"type": "subscribe", "ref": 7, "data": {"type": "device", "id": "new"}}))
            with trio.fail_after(10):
                while (msg := json.loads(await ws.get_message()))["type"] != "ack":
                    pass
            assert msg["ref"] == 7 and msg["data"]["status"] == "subscribed", msg
            assert await sio.emit("subscribe", {"type": "device", "id": "new"}) == [
                {"status": "subscribed", "channel": "device:new"}
            ]
            assert not sio.saw("disconnect")
        code, _ = await service.stop(signal.SIGTERM)
    assert code == 0


# -- logs ------------------------------------------------------------------------------------------


async def test_json_log_lines_with_journal_priorities(tmp_path):
    port = free_port()
    conf = write_config(tmp_path / "eyenet.toml", port, "")
    log = tmp_path / "eyenet.log"
    log.touch()
    st = os.stat(log)  # eyenet's stderr is this file: "the journal" for the test
    async with eyenet(tmp_path, "run", "-c", str(conf), "--log-format", "json", "--log-level", "debug",
                      env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}) as service:
        await service.message("READY=1")
        code, _ = await service.stop(signal.SIGTERM)
    assert code == 0
    lines = [line for line in service.log().splitlines() if line.startswith("<")]
    assert lines and len(lines) == len(service.log().splitlines()), service.log()
    parsed = [(int(line[1:line.index(">")]), json.loads(line[line.index(">") + 1:])) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(parsed[0][1])
    priorities = {record["level"]: p for p, record in parsed}
    assert priorities["info"] == 6 and priorities["warning"] == 4, priorities  # "lists no devices" is a warning
    assert any(r["message"].startswith("stopped on SIGTERM") for _, r in parsed)


async def test_text_logs_without_journal_and_a_log_level(tmp_path):
    port = free_port()
    conf = write_config(tmp_path / "eyenet.toml", port, "")
    async with eyenet(tmp_path, "run", "-c", str(conf), "--log-level", "warning",
                      env={"JOURNAL_STREAM": "1:1"}) as service:  # another stream: a redirection by hand
        await service.message("READY=1")
        code, _ = await service.stop(signal.SIGTERM)
    assert code == 0
    lines = service.log().splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ WARNING ", line) for line in lines), lines


async def test_a_summary_line_in_the_log_every_interval(tmp_path, snmpsim_agent):
    port = free_port()
    conf = write_config(tmp_path / "eyenet.toml", port, device_toml("fw-1", snmpsim_agent, RECORDINGS[0]))
    async with eyenet(tmp_path, "run", "-c", str(conf), "--summary-interval", "3", port=port) as service:
        await service.message("READY=1")
        with trio.fail_after(30):
            while len(lines := re.findall(r"INFO eyenet: (1 device .*)", service.log())) < 2:
                await trio.sleep(0.1)
        code, _ = await service.stop(signal.SIGTERM)
    assert code == 0
    # The second line counts the polls of a whole interval (one a second).
    assert re.fullmatch(r"1 device \(1 up, 0 degraded, 0 down\); [1-9]\d* polls? in the last 3 s, \d+ late; 0 push clients", lines[1]), lines


# -- the first start -------------------------------------------------------------------------------


def read_terminal(fd: int) -> str:
    """What was written to a pseudo-terminal so far."""
    seen = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # its other end closed with the process
            break
        if not chunk:
            break
        seen += chunk
    return seen.decode(errors="replace")


@pytest.mark.parametrize("on_a_terminal", [False, True], ids=["service", "terminal"])
async def test_the_first_password_is_in_a_file_only_eyenet_may_read(tmp_path, on_a_terminal):
    port = free_port()
    conf = write_config(tmp_path / "eyenet.toml", port, "")
    kept = tmp_path / "initial-admin-password"
    controller, terminal = os.openpty() if on_a_terminal else (None, None)
    try:
        async with eyenet(tmp_path, "run", "-c", str(conf), port=port, env={"EYENET_ADMIN_PASSWORD": None},
                          stdout=terminal) as service:
            await service.message("READY=1")
            password = kept.read_text().rstrip("\n")
            assert kept.stat().st_mode & 0o777 == 0o600
            status, body = await api(port, "POST", "/api/auth/login", body={"username": "admin", "password": password})
            assert status == 200, body
            shown = await trio.to_thread.run_sync(read_terminal, controller) if on_a_terminal else ""
            code, _ = await service.stop(signal.SIGTERM)
    finally:
        for fd in (controller, terminal):
            if fd is not None:
                os.close(fd)
    assert code == 0
    log = service.log()  # stdout and stderr when they are not a terminal: what the journal would keep
    assert password not in log, log
    assert f"created the user admin; its generated password is in {kept} (mode 0600); change it with: eyenet user passwd admin" in log
    if on_a_terminal:  # someone watching the start sees how to log in
        assert f"log in as admin with password {password}" in shown, shown


@pytest.mark.slow
async def test_every_recording_read_through_eyenet_run_and_the_rest_api(tmp_path, snmpsim_agent):
    """The public path for all 49 recordings at once: `eyenet run` polls them, and the REST
    API gives each device's identity and OS version, CPU and memory as LibreNMS has them
    (the processors and pools docs/devices.md names), those processors and pools one by one
    (its components), its interfaces: LibreNMS' ports, the others flagged ignored or left
    out by LibreNMS' per-OS filters; and the map its LLDP/CDP links as LibreNMS has them."""
    import librenms

    names = agents.recording_names(agents.SNMPREC_DIR)
    port = free_port()
    devices = "".join(device_toml(f"d{n}", snmpsim_agent, name, interval=60) for n, name in enumerate(names))
    conf = write_config(tmp_path / "eyenet.toml", port, devices)
    async with eyenet(tmp_path, "run", "-c", str(conf), port=port) as service:
        await service.message("READY=1")
        token = await service.token()
        with trio.fail_after(180):
            while True:
                status, body = await api(port, "GET", "/api/devices", token)
                assert status == 200, body
                polled = {d["id"]: d for d in body["devices"] if d["lastSeen"] is not None}
                if len(polled) == len(names):
                    break
                await trio.sleep(1)
        with trio.fail_after(120):  # the first discovery cycle, started with the service
            while (topology := (await api(port, "GET", "/api/topology", token))[1])["updatedAt"] is None:
                await trio.sleep(1)
        assert {node["id"] for node in topology["nodes"] if node["managed"]} == {f"d{n}" for n in range(len(names))}
        for n, name in enumerate(names):
            device = polled[f"d{n}"]
            data = librenms.expected(name)
            assert librenms.version_agrees(name, data, device["osVersion"]), (name, device["osVersion"])
            status, body = await api(port, "GET", f"/api/devices/d{n}/components", token)
            assert status == 200
            counted = {kind: [c["value"] for c in body[key] if c["counted"]] for kind, key in (("processor", "processors"),
                                                                                                 ("memory", "memory"))}
            assert librenms.component_mismatches(name, data, counted, 1.05) == [], name
            assert device["status"] in ("up", "degraded"), (name, device["reason"])
            assert device["sysObjectId"] == data["os"]["discovery"]["devices"][0]["sysObjectID"].lstrip(".")
            if device["vendor"] is not None:  # a vendor profile matched: it says what the device is
                assert device["type"] and device["os"], name
            for metric, (figure, missing) in (("cpu", (librenms.librenms_cpu, librenms.NO_LIBRENMS_CPU)),
                                              ("memory", (librenms.librenms_memory, librenms.NO_LIBRENMS_MEMORY))):
                value, want = device["metrics"][metric], figure(name, data)
                if want is None:
                    assert value == missing[name][0], (name, metric)
                    assert device["metricsStatus"][metric]["reason"] if value is None else True
                else:
                    assert value is not None and abs(value - want) <= 1.05, (name, metric, value, want)
            status, body = await api(port, "GET", f"/api/devices/d{n}/interfaces", token)
            assert status == 200
            ours = {i["ifIndex"]: i for i in body["interfaces"]}
            ports = {row["ifIndex"]: row for row in librenms.section(data, "ports", "ports")}
            extra = librenms._family(librenms.LIBRENMS_EXTRA_PORTS, name)
            if extra is not None:
                ports = {i: row for i, row in ports.items() if not extra[0](row)}
            assert set(ports) <= set(ours), name
            assert not {i for i in ports if ours[i]["ignored"]}, name
            # The rest are ignored, or rows LibreNMS' per-OS filters drop (test_collect_recordings
            # holds those filters row by row; the port table does not show the raw ifName they need).
            assert all(ours[i]["ignored"] for i in set(ours) - set(ports)) or name in librenms.OS_SKIPS, name
            names_of_ports = {i["name"] for i in body["interfaces"]}
            assert not librenms.map_link_mismatches(name, data, topology["links"], f"d{n}", names_of_ports), name
