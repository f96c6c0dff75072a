"""Scheduled scans judged in a child process: the store read on a connection of its own, the
findings handed back.

In EyeNet's own process, a scan of 10,000 devices held the GIL that the event loop needs: its
detection (pure Python) in a worker thread, and on the loop's thread the reads' hand-overs and
the points they return. The child reads the database beside the writer (WAL), judges each
series as a job without from/to would (eyenet.anomaly.window), and answers each request with
what is at or above the minimum confidence only. It runs at the lowest CPU priority (nice 19,
and on Linux SCHED_IDLE, which any other task that wakes preempts at once): whenever polls and
push want a core, they have it first. Where a sandbox refuses that (the shipped unit's system
call filter leaves out @resources), it runs at normal priority, and the scan's pacing
([anomaly] scan_cpu_share) alone keeps it from them. It dies with EyeNet (daemon.child).

Requests and answers are JSON lines: {"now", "series": [[device, metric, interval], ...]} in;
{"found": [[device, metric, start, end, baseline, [[label, confidence], ...]], ...], "failed":
[[device, metric, why], ...]} out.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence

import attrs
import orjson
import trio

from eyenet.anomaly.detect import NotEnoughData
from eyenet.anomaly.window import history_step, judge, plan
from eyenet.daemon import child
from eyenet.store.db import read_history, read_history_start
from eyenet.store.schema import connect

BATCH = 100  # series a request: the loop's share (a write, a read, a decode) spread thin
SCANNER_IN_BINARY = "eyenet-anomaly-scanner"  # the single executable's first argument for the child
STOP_GRACE = 5.0  # seconds the child has to exit once its input is closed


class ScanError(Exception):
    """The child could not be started, or stopped answering."""


@attrs.frozen
class Found:
    device_id: str
    metric: str
    start: int
    end: int
    baseline: int
    results: tuple[tuple[str, float], ...]


class Scanner:
    """`async with Scanner(db, min_confidence) as scanner:` starts the child; `judge` asks it."""

    def __init__(self, db: str, min_confidence: float) -> None:
        self.db = db
        self.min_confidence = min_confidence
        self._child: child.Child | None = None
        self._send: trio.lowlevel.FdStream | None = None
        self._receive: trio.lowlevel.FdStream | None = None
        self._buffer = b""
        self.pid: int | None = None
        self.priority_refused: str | None = None  # why the child keeps normal priority, if it does

    async def __aenter__(self) -> Scanner:
        try:
            self._child = child.spawn(
                [*scanner_argv(), self.db, repr(self.min_confidence)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            )
        except OSError as exc:
            raise ScanError(f"cannot start the scan process: {exc.strerror}") from None
        self.pid = self._child.pid
        self.priority_refused = lowest_priority(self.pid)
        stdin, stdout = self._child.stdin, self._child.stdout
        assert stdin is not None and stdout is not None
        # Trio's own streams on copies of the pipes (they set them non-blocking and close them).
        self._send = trio.lowlevel.FdStream(os.dup(stdin.fileno()))
        self._receive = trio.lowlevel.FdStream(os.dup(stdout.fileno()))
        stdin.close()
        stdout.close()
        return self

    @property
    def returncode(self) -> int | None:
        return None if self._child is None else self._child.returncode

    async def __aexit__(self, *exc_info: object) -> None:
        with trio.CancelScope(shield=True):
            if self._send is not None:
                await self._send.aclose()  # end of input: the child exits
            if self._receive is not None:
                await self._receive.aclose()
            if self._child is not None:
                with trio.move_on_after(STOP_GRACE):
                    await self._child.wait()
                await child.stop(self._child, STOP_GRACE)  # still there: it is stopped

    async def judge(self, now: int, series: Sequence[tuple[str, str, float]]) -> tuple[list[Found], list[tuple[str, str, str]]]:
        """What the child finds in `series` (device, metric, poll interval) at `now`: the
        findings kept, and the series it could not judge, with why."""
        assert self._send is not None and self._receive is not None
        try:
            await self._send.send_all(orjson.dumps({"now": now, "series": series}) + b"\n")
            while b"\n" not in self._buffer:
                chunk = await self._receive.receive_some(65536)
                if not chunk:
                    raise ScanError("the scan process exited")
                self._buffer += chunk
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ScanError("the scan process exited") from None
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer = orjson.loads(line)
        found = [Found(d, m, start, end, base, tuple((label, conf) for label, conf in results))
                 for d, m, start, end, base, results in answer["found"]]
        return found, [tuple(f) for f in answer["failed"]]


def lowest_priority(pid: int) -> str | None:
    """Give the process the lowest CPU priority this system allows; None, or what refused it."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 19)
        if hasattr(os, "SCHED_IDLE"):
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def scanner_argv() -> list[str]:
    """How to start the child: this executable itself when EyeNet is the single executable
    (PyInstaller sets sys.frozen, and has no `-m`), else this module in this interpreter."""
    if getattr(sys, "frozen", False):
        return [sys.executable, SCANNER_IN_BINARY]
    return [sys.executable, "-m", "eyenet.anomaly.scanner"]


# -- the child ---------------------------------------------------------------------


def judge_series(conn: sqlite3.Connection, now: int, device_id: str, metric: str, interval: float,
                 min_confidence: float) -> list | None:
    """One series as the child answers it: [device, metric, start, end, baseline, kept], or
    None when nothing at or above the minimum confidence is found (or too little is stored)."""
    chosen = plan(read_history_start(conn, device_id, metric), now, interval)
    step = history_step(chosen.end - chosen.start + chosen.baseline)
    window = read_history(conn, device_id, metric, chosen.start, chosen.end, step)
    base = read_history(conn, device_id, metric, chosen.start - chosen.baseline, chosen.start, step) if chosen.baseline else []
    try:
        findings = judge(metric, chosen, window, base)
    except NotEnoughData:
        return None
    kept = [(f.label, f.confidence) for f in findings if f.label != "normal" and f.confidence >= min_confidence]
    return [device_id, metric, chosen.start, chosen.end, chosen.baseline, kept] if kept else None


def serve(db: str, min_confidence: float) -> None:
    """Answer requests until the input ends."""
    conn = connect(db)
    try:
        for line in sys.stdin.buffer:
            request = orjson.loads(line)
            found, failed = [], []
            for device_id, metric, interval in request["series"]:
                try:
                    if (kept := judge_series(conn, request["now"], device_id, metric, interval, min_confidence)) is not None:
                        found.append(kept)
                except Exception as exc:  # a bug or the disk: this series is lost, the others go on
                    failed.append([device_id, metric, f"{type(exc).__name__}: {exc}"])
            try:
                sys.stdout.buffer.write(orjson.dumps({"found": found, "failed": failed}) + b"\n")
                sys.stdout.buffer.flush()
            except BrokenPipeError:  # EyeNet stopped the scan: nobody waits for the answer
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nor for what is left to flush at exit
                return
    finally:
        conn.close()


def main(argv: Sequence[str]) -> int:
    """The child's command line: the database's path and the minimum confidence."""
    db, min_confidence = argv
    serve(db, float(min_confidence))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
