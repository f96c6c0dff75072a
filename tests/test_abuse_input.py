"""Client input never makes the real server raise, and never puts a secret or a flood in its log.

EyeNet runs as `eyenet run` does (app.run: SQLite store, REST, /ws, Socket.IO on one port on
loopback); the clients send what an attacker would: JSON nested 1,100 deep and more, numbers of
5,000 digits, values that cannot be written back as JSON, tokens in query strings. Each gets the
contract's error (INVALID_MESSAGE, INVALID_BODY, ...), the session or connection goes on where
the contract says so, and the log holds at most one WARNING line a minute for it, never an
ERROR or a traceback, never the token.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
import trio
from abuse import LIMIT, engine_get, engine_post, engine_session, login, request, running_eyenet
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url

from eyenet.lograte import LogThrottle
from eyenet.web import inbound
from eyenet.web.logsafe import redact, redact_target
from eyenet.web.push.plain_ws import PlainWsServer

DEEP = "[" * 1100
LONG_NUMBER = "9" * 5000


async def next_message(ws) -> dict:
    with trio.fail_after(LIMIT):
        return json.loads(await ws.get_message())


def problems(caplog) -> list[logging.LogRecord]:
    """What an operator would have to look at: EyeNet's lines at WARNING and above."""
    return [r for r in caplog.records if r.name.startswith("eyenet") and r.levelno >= logging.WARNING]


def refusals(caplog) -> list[str]:
    return [r.getMessage() for r in problems(caplog) if "refused" in r.getMessage()]


def quiet_apart_from(caplog, expected: list[str]) -> None:
    """No ERROR, no traceback; the WARNING lines are the startup's and `expected`."""
    lines = problems(caplog)
    assert not [r for r in lines if r.levelno >= logging.ERROR or r.exc_info], [r.getMessage() for r in lines]
    assert refusals(caplog) == expected


# -- bounded JSON (pure) -------------------------------------------------------------------------


@pytest.mark.parametrize("text, says", [
    (DEEP, "nested too deeply"),
    ('{"a": ' * 40 + "1" + "}" * 40, "nested too deeply"),
    ('{"ref": ' + LONG_NUMBER + "}", "5000 characters"),
    ('{"ref": 0.' + "1" * 60 + "}", "62 characters"),
])
def test_input_beyond_the_bounds_is_refused_before_it_is_parsed(text, says):
    with pytest.raises(inbound.BeyondBounds, match=says):
        inbound.loads(text)


@pytest.mark.parametrize("text, says", [
    ('{"ref": 1e999}', "out of range"),
    ('{"ref": NaN}', "NaN"),
    ('{"ref": "\\ud800"}', "surrogate"),
    ("[", "Expecting value"),
])
def test_json_that_cannot_be_written_back_is_refused(text, says):
    with pytest.raises(ValueError, match=says):
        inbound.loads(text)


def test_shallow_json_with_brackets_in_strings_is_read():
    text = json.dumps({"a": "[" * 5000, "b": [[1, 2], {"c": "]]]}"}], "d": 2**53 - 1, "e": "\ud83d\ude00"})
    assert inbound.nesting_depth(text) == 3
    assert inbound.loads(text) == json.loads(text)


@pytest.mark.parametrize("given, expected", [
    ("0", 0), ("12", 12), (12, 12), (2**53 - 1, 2**53 - 1), ("9007199254740991", 2**53 - 1),
    (2**53, None), ("9007199254740992", None), (LONG_NUMBER, None), ("\u00b2", None), ("\u0661", None),
    ("-1", None), (-1, None), (True, None), (1.5, None), ("", None), (" 1", None), (None, None),
])
def test_event_ids_are_bounded(given, expected):
    assert inbound.event_id(given) == expected


# -- /ws -----------------------------------------------------------------------------------------------


async def test_ws_messages_beyond_the_bounds_get_invalid_message_and_the_session_goes_on(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        token = await login(port)
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}") as ws:
            hostile = [
                DEEP,  # the first message, as in the report
                "{" * 60_000,  # just under the 64 KiB a message may have
                '{"type": "resume", "data": {"lastEventId": ' + LONG_NUMBER + "}}",
                '{"type": "subscribe", "ref": ' + "1" * 41 + ', "data": {"type": "devices"}}',
            ]
            for text in hostile * 3:
                await ws.send_message(text)
                error = await next_message(ws)
                assert error["type"] == "error" and error["data"]["code"] == "INVALID_MESSAGE", error
                assert "not JSON we accept" in error["data"]["message"]
            # Values that could not be echoed back as JSON (the ref comes back in the ack).
            for ref in ("1e999", "-1e999", "NaN", "Infinity", '"\\ud800"', '"\\udfff\\ud800"'):
                await ws.send_message('{"type": "subscribe", "ref": ' + ref + ', "data": {"type": "devices"}}')
                error = await next_message(ws)
                assert (error["type"], error["data"]["code"]) == ("error", "INVALID_MESSAGE"), (ref, error)
            # Event ids out of bounds in a well-formed resume: refused, with the error ack.
            for last in (json.dumps(LONG_NUMBER), json.dumps("\u00b2"), str(2**53), "-1"):
                await ws.send_message('{"type": "resume", "ref": 5, "data": {"lastEventId": ' + last + "}}")
                error, ack = await next_message(ws), await next_message(ws)
                assert error["data"]["code"] == "INVALID_MESSAGE" and "2^53" in error["data"]["message"]
                assert ack == {"type": "ack", "ref": 5, "data": {"status": "error", "code": "INVALID_MESSAGE",
                                                                   "message": error["data"]["message"]}}
            await ws.send_message(json.dumps({"type": "subscribe", "ref": 1, "data": {"type": "devices"}}))
            assert await next_message(ws) == {"type": "ack", "ref": 1, "data": {"status": "subscribed", "channel": "devices"}}
    # Twelve hostile messages, one line (the throttle holds the others for a minute).
    [line] = refusals(caplog)
    assert line.startswith("refused a /ws message from ('127.0.0.1', ") and "nested too deeply" in line
    quiet_apart_from(caplog, [line])


async def test_ws_first_message_too_deep_without_a_token_is_auth_required(tmp_path, monkeypatch, caplog):
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws") as ws:
            await ws.send_message(DEEP)
            error = await next_message(ws)
            assert error["data"]["code"] == "AUTH_REQUIRED"
            with pytest.raises(ConnectionClosed) as closed, trio.fail_after(LIMIT):
                await ws.get_message()
            assert closed.value.reason.code == 1008  # the contract's close, not 1011
    assert len(refusals(caplog)) == 1


@pytest.mark.parametrize("last", [LONG_NUMBER, "\u00b2", "\u0661\u0662", str(2**53), "-1", "1.5"])
async def test_ws_last_event_id_out_of_bounds_is_400_before_the_upgrade(tmp_path, monkeypatch, caplog, last):
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        token = await login(port)
        with pytest.raises(ConnectionRejected) as rejected, trio.fail_after(LIMIT):
            async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}&lastEventId={quote(last)}"):
                pass
        assert rejected.value.status_code == 400
        assert json.loads(rejected.value.body)["error"]["code"] == "INVALID_MESSAGE"
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws?token={token}&lastEventId={2**53 - 1}") as ws:
            await ws.send_message(json.dumps({"type": "subscribe", "ref": 1, "data": {"type": "alerts"}}))
            assert (await next_message(ws))["type"] == "ack"
    quiet_apart_from(caplog, [])


# -- Socket.IO -----------------------------------------------------------------------------------------


def events(packets: list[str]) -> list[list]:
    return [json.loads(p[len("42/ws,"):]) for p in packets if p.startswith("42/ws,")]


async def test_socketio_payloads_beyond_the_bounds_are_invalid_message_and_the_session_goes_on(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        token = await login(port)
        sid = await engine_session(port)
        assert await engine_post(port, sid, "40/ws," + json.dumps({"token": token, "lastEventId": LONG_NUMBER})) == (200, b"ok")
        packets = await engine_get(port, sid)  # joined; the bad lastEventId is an error event (before the accept)
        [accept] = [p for p in packets if p.startswith("40/ws,{")]
        pid = json.loads(accept[6:])["pid"]
        [[name, envelope, _]] = events(packets)
        assert name == "error" and envelope["data"]["code"] == "INVALID_MESSAGE" and "lastEventId" in envelope["data"]["message"]
        hostile = [
            '42/ws,1["subscribe",' + DEEP + "]",
            '42/ws,2["subscribe",{"type":"device","id":' + LONG_NUMBER + "}]",
            "45" + LONG_NUMBER + '-/ws,["subscribe",{"_placeholder":true,"num":0}]',
        ]
        for text in hostile * 2:
            assert await engine_post(port, sid, text) == (200, b"ok")
            [[name, envelope, _]] = events(await engine_get(port, sid))
            assert (name, envelope["data"]["code"]) == ("error", "INVALID_MESSAGE"), envelope
        assert await engine_post(port, sid, '42/ws,3["resume",{"lastEventId":"' + LONG_NUMBER + '"}]') == (200, b"ok")
        packets = await engine_get(port, sid)
        while len(packets) < 2:
            packets += await engine_get(port, sid)
        assert packets[1] == '43/ws,3[{"status":"error","code":"INVALID_MESSAGE","message":' + json.dumps(
            events(packets)[0][1]["data"]["message"]) + "}]"
        assert await engine_post(port, sid, '42/ws,4["subscribe",{"type":"alerts"}]') == (200, b"ok")
        assert await engine_get(port, sid) == ['43/ws,4[{"status":"subscribed","channel":"alerts"}]']

        # Recovery of this session (its transport closed) with an offset of 5,000 digits: a new
        # session, not a failure.
        assert await engine_post(port, sid, "1") == (200, b"ok")
        other = await engine_session(port)
        auth = {"token": token, "pid": pid, "offset": LONG_NUMBER}
        assert await engine_post(port, other, "40/ws," + json.dumps(auth)) == (200, b"ok")
        [accept] = await engine_get(port, other)
        assert accept.startswith("40/ws,{") and json.loads(accept[6:])["pid"] != pid
    quiet_apart_from(caplog, refusals(caplog))
    assert len(refusals(caplog)) == 1


# -- REST --------------------------------------------------------------------------------------------------


async def test_rest_bodies_beyond_the_bounds_are_invalid_body(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    json_type = {"Content-Type": "application/json"}
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        token = await login(port)
        bearer = {**json_type, "Authorization": f"Bearer {token}"}
        cases = [
            ("/api/auth/login", json_type, DEEP.encode(), "nested too deeply"),
            ("/api/auth/login", json_type, b'{"username": "admin", "password": ' + LONG_NUMBER.encode() + b"}", "5000 characters"),
            ("/api/rules", bearer, b'{"id": "r", "when": ' + b"{" * 100_000 + b"}", "nested too deeply"),
            ("/api/devices", bearer, b'{"id": "a", "host": "h", "port": ' + b"1" * 41 + b"}", "41 characters"),
        ]
        for path, headers, body, says in cases * 2:
            status, answer = await request(port, "POST", path, body, headers)
            error = json.loads(answer)["error"]
            assert (status, error["code"]) == (400, "INVALID_BODY") and says in error["message"], (path, error)
        status, _ = await request(port, "GET", "/api/health")
        assert status == 200
    [line] = refusals(caplog)
    assert line.startswith("refused a body from ('127.0.0.1', ") and "POST /api/auth/login" in line
    quiet_apart_from(caplog, [line])


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
