"""The stock socket.io-client (npm, tests/js/seed_client.js) driven from a test.

seed_client.js connects with the seed's snippet unchanged (plus `transports` when
asked), reports what it sees as JSON lines on stdout and obeys JSON commands on
stdin. Every wait here is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

JS_DIR = Path(__file__).resolve().parent / "js"
CLIENT = JS_DIR / "seed_client.js"
WAIT = 10.0  # seconds any one expected thing may take before the test fails


def node() -> str:
    path = shutil.which("node") or shutil.which("nodejs")
    if path is None or not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
        pytest.fail(
            "node and socket.io-client are needed: run scripts/test.sh (it installs them), "
            "or apt-get install nodejs npm && npm ci --prefix tests/js", pytrace=False,
        )
    return path


class JsClient:
    """One seed_client.js process: its report lines, and commands to it."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.seen: list[dict] = []  # every report so far
        self._unclaimed: list[dict] = []  # reports no expect() has returned yet, in order
        self._buffer = b""

    async def _line(self) -> dict:
        while b"\n" not in self._buffer:
            data = await self.process.stdout.receive_some()
            if not data:
                raise AssertionError(f"the node client exited; it reported {self.seen}")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        report = json.loads(line)
        self.seen.append(report)
        if report["what"] in ("timeout", "bad_command"):
            raise AssertionError(f"node client: {report}; before that: {self.seen}")
        return report

    async def expect(self, what: str, where=lambda report: True, wait: float = WAIT) -> dict:
        """The first report not returned yet of kind `what` satisfying `where`,
        whether it came already or comes within `wait` seconds."""
        for report in self._unclaimed:
            if report["what"] == what and where(report):
                self._unclaimed.remove(report)
                return report
        with trio.move_on_after(wait):
            while True:
                report = await self._line()
                if report["what"] == what and where(report):
                    return report
                self._unclaimed.append(report)
        raise AssertionError(f"no {what!r} report from the node client within {wait} s; it reported {self.seen}")

    async def expect_event(self, name: str) -> dict:
        return await self.expect("event", lambda r: r["name"] == name)

    async def send(self, **command) -> None:
        await self.process.stdin.send_all(json.dumps(command).encode() + b"\n")

    async def emit(self, name: str, data) -> list:
        await self.send(cmd="emit", name=name, data=data)
        return (await self.expect("ack", lambda r: r["name"] == name))["args"]

    async def state(self) -> dict:
        await self.send(cmd="state")
        return await self.expect("state")

    def saw(self, what: str) -> list[dict]:
        return [r for r in self.seen if r["what"] == what]


@asynccontextmanager
async def js_client(port: int, token: str, transports: str | None = None, lifetime: float = 30.0):
    """lifetime: seconds after which the client gives up and exits, whatever happens."""
    environment = {
        **os.environ, "EYENET_PORT": str(port), "EYENET_TOKEN": token, "EYENET_TIMEOUT_MS": str(int(lifetime * 1000)),
    }
    if transports:
        environment["EYENET_TRANSPORTS"] = transports
    process = await trio.lowlevel.open_process(
        [node(), str(CLIENT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment
    )
    try:
        yield JsClient(process)
    finally:
        process.kill()
        with trio.move_on_after(5):
            await process.wait()
