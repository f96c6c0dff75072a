"""The service's parts alone: sd_notify messages and environment, the watchdog kept only while
healthy (over a real datagram socket), log formats, what a reload reports as changed, freed
memory given back to the system."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import attrs
import trio

from eyenet.daemon import logs, memory, notify
from eyenet.daemon.changes import diff
from eyenet.daemon.control import Control
from eyenet.daemon.summary import Counts, period_line, status_line
from eyenet.daemon.systemd import Notifier
from eyenet.devices.model import DeviceConfig
from eyenet.health import Health, Status


def test_messages():
    assert notify.ready("8 devices") == b"READY=1\nSTATUS=8 devices"
    assert notify.stopping("stopping on SIGTERM") == b"STOPPING=1\nSTATUS=stopping on SIGTERM"
    assert notify.heartbeat("ok", alive=True) == b"WATCHDOG=1\nSTATUS=ok"
    assert notify.heartbeat("ok", alive=False) == b"STATUS=ok"
    assert notify.reloading(123456) == b"RELOADING=1\nMONOTONIC_USEC=123456"
    assert notify.status("two\nlines  here") == "STATUS=two lines here"  # a line break would end the assignment


def test_environment():
    assert notify.socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert notify.socket_address("@abstract") == "\0abstract"
    assert notify.socket_address("") is None and notify.socket_address(None) is None
    assert notify.socket_address("vsock:2:1234") is None
    assert notify.watchdog_period({"WATCHDOG_USEC": "30000000"}, 42) == 15.0
    assert notify.watchdog_period({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 42) == 15.0
    assert notify.watchdog_period({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 42) is None
    assert notify.watchdog_period({"WATCHDOG_USEC": "0"}, 42) is None
    assert notify.watchdog_period({}, 42) is None


def test_the_notifier_takes_its_variables_out_of_the_environment():
    environ = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "4000000", "PATH": "/bin"}
    notifier = Notifier.from_environ(environ)
    assert environ == {"PATH": "/bin"}  # child processes do not inherit them
    assert notifier.address == "\0x" and notifier.watchdog == 2.0
    assert not Notifier.from_environ({}).enabled
    assert not Notifier(None).send(b"READY=1")


def test_status_and_period_lines():
    assert status_line(Counts(8, 5, 1, 1, 3)) == "8 devices (5 up, 1 degraded, 1 down, 1 not polled yet); 3 push clients"
    assert status_line(Counts(1, 1, 0, 0, 1)) == "1 device (1 up, 0 degraded, 0 down); 1 push client"
    before, now = Counts(8, 5, 1, 1, 3, polls=100, late_polls=2), Counts(8, 6, 1, 1, 2, polls=148, late_polls=3)
    assert period_line(before, now, 60) == "8 devices (6 up, 1 degraded, 1 down); 48 polls in the last minute, 1 late; 2 push clients"
    assert period_line(now, now, 0.5) == "8 devices (6 up, 1 degraded, 1 down); 0 polls in the last 0.5 s, 0 late; 2 push clients"


async def test_a_summary_line_every_interval_until_the_stop(autojump_clock, caplog):
    polls = iter(range(0, 1000, 6))
    control = Control(summary_every=60)
    control.ready(lambda: Counts(1, 1, 0, 0, 0, polls=next(polls)))
    with caplog.at_level(logging.INFO, logger="eyenet"):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(control.summaries)
            await trio.sleep(150)
            control.stop_requested.set()
    lines = [r.getMessage() for r in caplog.records if r.name == "eyenet"]
    assert lines == ["1 device (1 up, 0 degraded, 0 down); 6 polls in the last minute, 0 late; 0 push clients"] * 2
    assert trio.current_time() < 151  # it ended with the stop, not at its next line


# A process that stops on SIGTERM, then gets a copy of it late (as from the single executable's
# launcher on a busy machine) before it exits; argv[1]: as the command line runs it, or not.
LATE_REPEAT = """
import os, signal, sys, trio
from eyenet.daemon.control import Control
control = Control(summary_every=None)
async def app(control):
    os.kill(os.getpid(), signal.SIGTERM)
    await control.stop_requested.wait()
code = control.run_process(app) if sys.argv[1] == "process" else trio.run(control.run, app)
os.kill(os.getpid(), signal.SIGTERM)
print("exit", code, signal.getsignal(signal.SIGTERM) is signal.SIG_IGN)
"""


def test_a_late_copy_of_the_stop_signal_does_not_end_the_process():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run = [sys.executable, "-c", LATE_REPEAT]
    guarded = subprocess.run([*run, "process"], capture_output=True, text=True, timeout=60, env=env)
    assert (guarded.returncode, guarded.stdout) == (0, "exit 0 True\n"), guarded.stderr
    bare = subprocess.run([*run, "bare"], capture_output=True, text=True, timeout=60, env=env)
    assert (bare.returncode, bare.stdout) == (-signal.SIGTERM, "")
    # Before anything watches, the process ends on SIGTERM as any would.
    early = subprocess.run(
        [sys.executable, "-c", "import signal\nfrom eyenet.daemon.control import Control\n"
         "Control()._unwatched(signal.SIGTERM, None); print('alive')"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert (early.returncode, early.stdout) == (-signal.SIGTERM, "")


async def test_no_summary_lines_when_told_so():
    control = Control(summary_every=None)
    with trio.fail_after(1):
        await control.summaries()


async def test_watchdog_only_while_not_down(tmp_path):
    path = str(tmp_path / "notify")
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    await sock.bind(path)
    status = Status.OK
    control = Control(Notifier(path, watchdog=0.02))
    control.ready(lambda: Counts(1, 1, 0, 0, 0))
    received = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(control.heartbeat, lambda: Health(status, ("store: writes fail",)))
            for want in (True, True, False, False, True):
                status = Status.OK if want else Status.DOWN
                while True:  # the first heartbeat read with this status
                    message = (await sock.recv(100)).decode()
                    received.append(message)
                    if message != "READY=1\nSTATUS=1 device (1 up, 0 degraded, 0 down); 0 push clients" and ("WATCHDOG=1" in message) == want:
                        break
            control.stop_requested.set()  # the heartbeat ends by itself: the services are stopping
    sock.close()
    assert received[0] == "READY=1\nSTATUS=1 device (1 up, 0 degraded, 0 down); 0 push clients"
    assert set(received[1:]) == {"WATCHDOG=1\nSTATUS=1 device (1 up, 0 degraded, 0 down); 0 push clients", "STATUS=1 device (1 up, 0 degraded, 0 down); 0 push clients"}


def test_journal_lines_carry_priorities():
    record = logging.LogRecord("eyenet.poller", logging.WARNING, __file__, 1, "two\nlines", None, None)
    assert logs.formatter("text", journal=True).format(record) == "<4>WARNING eyenet.poller: two\n<4>lines"
    line = logs.formatter("json", journal=True).format(record)
    assert line.startswith("<4>{") and json.loads(line[3:])["message"] == "two\nlines"
    assert [logs.priority(level) for level in (10, 20, 30, 40, 50)] == [7, 6, 4, 3, 2]
    plain = json.loads(logs.formatter("json", journal=False).format(record))
    assert plain["level"] == "warning" and plain["logger"] == "eyenet.poller" and plain["time"].endswith("Z")


def test_journal_stream_is_recognised_by_device_and_inode():
    assert logs.on_journal("8:1234", 8, 1234)
    assert not logs.on_journal("8:1234", 8, 999)
    assert not logs.on_journal(None, 8, 1234) and not logs.on_journal("junk", 8, 1234)


def test_changes_name_fields_never_values():
    a = DeviceConfig(id="a", host="10.0.0.1", community="s3cret")
    old = {"a": a, "b": DeviceConfig(id="b", host="10.0.0.2")}
    new = {"a": attrs.evolve(a, community="0ther", poll_interval=30.0), "c": DeviceConfig(id="c", host="10.0.0.3")}
    changes = diff(old, new)
    assert changes.describe("devices") == "devices: added c; removed b; changed a (community, poll_interval)"
    assert "s3cret" not in repr(changes) and "0ther" not in repr(changes)
    assert not diff(old, dict(old)) and diff(old, dict(old)).describe("devices") == ""


# A burst of 16 KiB buffers (the C allocator's, not Python's small-object one) between 1 KiB
# ones that stay: freed, they are pages that glibc keeps until they are given back.
BURST = """
from eyenet.daemon import memory
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * 4096
pinned, burst = [], []
for _ in range(5000):
    burst.append(b"x" * 16384)
    pinned.append(b"x" * 1024)
before = rss()
del burst
kept = rss()
released = memory.give_back()
print(before, kept, rss(), released)
"""


def test_freed_memory_goes_back_to_the_system():
    # In a process of its own: the test runner's heap would hide the burst or add to it.
    out = subprocess.run([sys.executable, "-c", BURST], capture_output=True, text=True, check=True).stdout.split()
    before, kept, after, released = int(out[0]), int(out[1]), int(out[2]), out[3]
    assert kept > before - (16 << 20), out  # freed, the 78 MiB stay resident
    assert released == "True" and after < kept - (48 << 20), out


async def test_freed_memory_is_given_back_every_minute(autojump_clock, monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "_trim", lambda pad: calls.append(pad) or 1)
    with trio.move_on_after(150):
        await memory.give_back_every()
    assert calls == [0, 0]
    monkeypatch.setattr(memory, "_trim", None)  # another C library: nothing to do, at once
    with trio.fail_after(1):
        await memory.give_back_every()
