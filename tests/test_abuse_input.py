"""Client input never puts a secret or a flood in the real server's log.

EyeNet runs as `eyenet run` does (app.run: SQLite store, REST, /ws, Socket.IO on one port on
loopback); the clients send tokens in query strings and in Socket.IO packets, and trigger a
failure over and over: the log never holds the token, and one traceback a minute at most.
"""

from __future__ import annotations

import logging

import pytest
import trio
from abuse import LIMIT, engine_post, engine_session, login, running_eyenet
from trio_websocket import ConnectionClosed, open_websocket_url

from eyenet.web.logsafe import LogThrottle, redact, redact_target
from eyenet.web.push.plain_ws import PlainWsServer

# -- the log: no secret, no flood ------------------------------------------------------------------------------


def test_redaction():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
    assert redact_target(f"/ws?token={token}&lastEventId=5") == "/ws?token=[redacted]&lastEventId=[redacted]"
    assert redact_target("/api/health") == "/api/health"
    assert redact(f"GET /ws?token={token} failed: {token[:30]}") == "GET /ws?token=[redacted] failed: [redacted]"
    assert redact("nothing to hide here: user admin, 3 devices") == "nothing to hide here: user admin, 3 devices"


def test_the_throttle_lets_one_line_a_minute_through_and_counts_the_rest():
    throttle = LogThrottle(60.0)
    assert [throttle.admit("a", t) for t in (0.0, 1.0, 59.0)] == [0, None, None]
    assert throttle.admit("b", 2.0) == 0  # each kind on its own
    assert throttle.admit("a", 60.0) == 2
    assert throttle.admit("a", 200.0) == 0


async def test_a_token_in_the_query_string_never_reaches_the_log(tmp_path, monkeypatch, caplog):
    """Even a bug whose exception quotes the request's URL, repeated, and Socket.IO packets
    carrying the token that the log excerpts: the token is not in any line or traceback,
    and the bug's traceback is logged once, not once per connection."""
    caplog.set_level(logging.DEBUG, logger="eyenet")

    async def bug(self, ws, sink, session):
        raise RuntimeError(f"a bug while serving {ws.request.target}")

    monkeypatch.setattr(PlainWsServer, "_receive_loop", bug)
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        token = await login(port)
        for _ in range(5):
            async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}&lastEventId=1") as ws:
                with pytest.raises(ConnectionClosed) as closed, trio.fail_after(LIMIT):
                    await ws.get_message()
            assert closed.value.reason.code == 1011
        sid = await engine_session(port)  # a CONNECT cut short: the log's excerpt of it starts with the token
        assert await engine_post(port, sid, '40/ws,{"token":"' + token + '"') == (200, b"ok")
    ours = [r for r in caplog.records if r.name.startswith("eyenet")]
    text = "\n".join(logging.Formatter().format(r) for r in ours)  # as a log file shows them, tracebacks too
    header, payload, signature = token.split(".")
    for secret in (token, payload[:12], signature[:12]):
        assert secret not in text
    failures = [r for r in caplog.records if r.name == "eyenet.web.front" and r.levelno == logging.ERROR]
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert failures[0].getMessage() == "WebSocket handler for /ws?token=[redacted]&lastEventId=[redacted] failed"
    assert "RuntimeError: a bug while serving /ws?token=[redacted]" in text  # the traceback is there, redacted
    assert "parse error: Socket.IO packet '0/ws,{\"token\":\"[redacted]'" in text
