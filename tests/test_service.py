"""EyeNet as a service: a shut-down of the web front (in process).
"""

from __future__ import annotations

import pytest
import trio

from eyenet.config import WebSettings
from eyenet.web.front import serve
from eyenet.web.http import Response


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
