"""docs/events.md names exactly what the code defines.

The doc's tables are read by their header (the first column says what a table lists):

* ``event``: every event type (events.EVENT_TYPES), each with the channels it goes to;
* ``field`` tables under each ``### `<event>` `` heading: every field of that event's
  ``data``, with every addition set (test_events.full_examples);
* ``type``: every subscription type (sessions.CHANNEL_TYPES) and the channel it gives;
* ``client event``: every client event (sessions.CLIENT_EVENTS);
* ``code`` with ``ends the session``: every code of an ``error`` event (events.ERROR_CODES),
  and whether it ends the session;
* ``code`` with ``status``: every code of an HTTP error body, with its status;
* ``Engine.IO code``: Engine.IO's error codes and messages;
* ``setting``: the [push] limits and their defaults;
* ``method and path``: every REST route and the least role it needs.

Error codes are also collected from the code itself, by a scan of every module under
eyenet/ for the calls and literals that carry one (ClientError("CODE", ...),
send_error("CODE", ...), ApiError("CODE", ...), error_response(status, "CODE", ...),
{"error": {"code": "CODE"}}, ...), so a code added anywhere must be documented too.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import attrs
import msgspec
import pytest
from test_events import full_examples

from eyenet import events as ev
from eyenet.config import PushSettings, WebSettings
from eyenet.snmp.usm import AUTH_PROTOCOLS, LEVELS, PRIV_PROTOCOLS
from eyenet.web.push.sessions import CHANNEL_TYPES, CLIENT_EVENTS, channel_for
from eyenet.web.push.socketio_codec import ENGINE_ERRORS
from eyenet.web.rest import openapi
from eyenet.web.rest.devices import Components, Device, DeviceComponent, NewDevice, Snmpv3

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "events.md"
PACKAGE = REPO / "eyenet"
EXAMPLE_CONFIG = REPO / "config" / "eyenet.example.toml"
TEXT = DOC.read_text()

CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
BACKTICKED = re.compile(r"`([^`]+)`")


# -- reading the doc ---------------------------------------------------------------------------


@attrs.frozen
class Table:
    heading: str  # the nearest heading above it
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> list[str]:
        i = self.header.index(name)
        return [row[i] for row in self.rows]


def _cells(line: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in line.strip().strip("|").split("|"))


def tables(text: str) -> list[Table]:
    out, heading, block = [], "", []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            header, rule, *rows = block
            assert set(rule.replace("|", "").strip()) <= {"-", ":", " "}, f"not a table: {block[:2]}"
            out.append(Table(heading, _cells(header), tuple(_cells(r) for r in rows)))
            block = []
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
    return out


TABLES = tables(TEXT)


def table(*header: str) -> Table:
    """The one table whose header starts with these names."""
    found = [t for t in TABLES if t.header[: len(header)] == header]
    assert len(found) == 1, f"expected one table with columns {header}, found {len(found)}"
    return found[0]


def names(cell: str) -> list[str]:
    """The backticked names of a cell."""
    return BACKTICKED.findall(cell)


def name(cell: str) -> str:
    (only,) = names(cell)
    return only


# -- scanning the code for error codes -----------------------------------------------------------

# Calls whose first string argument is a push error code (the `error` event's code).
PUSH_CALLS = {"ClientError", "send_error", "error_envelope", "_error_ack", "Error"}
# Calls whose first string argument is the code of an HTTP error body.
HTTP_CALLS = {"ApiError", "_HttpError", "error_response"}
# Both: a refused token's code reaches REST (ApiError) and push sessions (ClientError).
BOTH_CALLS = {"TokenError"}


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _literal_code(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE_RE.match(node.value):
        return node.value
    return None


def _dict_get(node: ast.Dict, key: str) -> ast.AST | None:
    for k, v in zip(node.keys, node.values):
        if isinstance(k, ast.Constant) and k.value == key:
            return v
    return None


def _status(call: ast.Call) -> int | None:
    """The literal HTTP status of a call: a first integer argument, or status=."""
    for node in [*call.args[:1], *(kw.value for kw in call.keywords if kw.arg == "status")]:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
    return None


@attrs.define
class Scan:
    push: set[str] = attrs.Factory(set)
    http: dict[str, set[int | None]] = attrs.Factory(dict)  # code -> literal statuses seen with it
    other: set[str] = attrs.Factory(set)  # {"code": "X"} in some other dict
    fatal: dict[str, set[bool]] = attrs.Factory(dict)  # ClientError codes -> fatal= values seen
    where: dict[str, str] = attrs.Factory(dict)

    def add_http(self, code: str, status: int | None) -> None:
        self.http.setdefault(code, set()).add(status)


def scan_codes() -> Scan:
    found = Scan()
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        # `{"code": ...}` dicts already claimed as an HTTP body or a push ack.
        claimed: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = _callee(node)
                code = next((c for c in map(_literal_code, node.args) if c), None)
                if callee in PUSH_CALLS | HTTP_CALLS | BOTH_CALLS and code:
                    found.where.setdefault(code, f"{path.relative_to(REPO)}:{node.lineno}")
                    if callee in PUSH_CALLS | BOTH_CALLS:
                        found.push.add(code)
                    if callee in HTTP_CALLS | BOTH_CALLS:
                        found.add_http(code, _status(node) if callee != "ApiError" else None)
                    if callee == "ClientError":
                        fatal = next((kw.value for kw in node.keywords if kw.arg == "fatal"), None)
                        found.fatal.setdefault(code, set()).add(isinstance(fatal, ast.Constant) and fatal.value is True)
                # Response.json({"error": {"code": "X", ...}}, status=N)
                for arg in node.args[:1]:
                    inner = _dict_get(arg, "error") if isinstance(arg, ast.Dict) else None
                    if isinstance(inner, ast.Dict) and (code := _literal_code(_dict_get(inner, "code"))):
                        found.add_http(code, _status(node))
                        found.where.setdefault(code, f"{path.relative_to(REPO)}:{node.lineno}")
                        claimed |= {id(arg), id(inner)}
            elif isinstance(node, ast.Dict):
                status = _dict_get(node, "status")
                if isinstance(status, ast.Constant) and status.value == "error":  # a push ack
                    if code := _literal_code(_dict_get(node, "code")):
                        found.push.add(code)
                    claimed.add(id(node))
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict) and id(node) not in claimed:
                inner = _dict_get(node, "error")
                if isinstance(inner, ast.Dict):
                    claimed.add(id(inner))  # {"error": {"code": ...}} outside a call: an HTTP body
                    if code := _literal_code(_dict_get(inner, "code")):
                        found.add_http(code, None)
                elif code := _literal_code(_dict_get(node, "code")):
                    found.other.add(code)
                    found.where.setdefault(code, f"{path.relative_to(REPO)}:{node.lineno}")
    return found


SCAN = scan_codes()
PUSH_TABLE = table("code", "ends the session", "sent when")
HTTP_TABLE = table("code", "status", "when")


def test_the_scan_finds_codes_where_they_are_known_to_be():
    assert {"SUBSCRIPTION_LIMIT", "RATE_LIMITED", "TOKEN_EXPIRED", "INTERNAL"} <= SCAN.push
    assert {"REQUEST_TIMEOUT", "BODY_TOO_LARGE", "HEADERS_TOO_LARGE", "BAD_REQUEST", "CONFLICT"} <= set(SCAN.http)
    assert 408 in SCAN.http["REQUEST_TIMEOUT"] and 426 in SCAN.http["INVALID_MESSAGE"]


# -- events and their fields --------------------------------------------------------------------


def test_event_table_is_every_event_type():
    assert [name(c) for c in table("event").column("event")] == list(ev.EVENT_TYPES)


def _template(channel: str) -> str:
    kind, _, rest = channel.partition(":")
    if not rest:
        return channel
    return f"{kind}:<severity>" if rest in ev.SEVERITIES and kind == "alerts" else f"{kind}:<id>"


@pytest.mark.parametrize("event", full_examples(), ids=lambda e: e.TYPE)
def test_event_channels(event):
    row = dict(zip(table("event").column("event"), table("event").column("channels")))
    documented = set(names(row[f"`{event.TYPE}`"]))
    assert documented == {_template(c) for c in ev.channels(event)}


def leaves(data: dict, prefix: str = "") -> set[str]:
    """Dotted paths of the leaf fields: metrics.cpu, interfaces[].ifIndex, details."""
    out = set()
    for key, value in data.items():
        path = prefix + key
        if isinstance(value, dict) and key != "details":  # details: an object of any shape
            out |= leaves(value, path + ".")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out |= leaves(value[0], path + "[].")
        else:
            out.add(path)
    return out


@pytest.mark.parametrize("event", full_examples(), ids=lambda e: e.TYPE)
def test_field_table_is_every_field_of_the_event(event):
    fields = [t for t in TABLES if t.heading == f"`{event.TYPE}`" and t.header[0] == "field"]
    assert len(fields) == 1, f"docs/events.md: no field table under ### `{event.TYPE}`"
    documented = [name(c) for c in fields[0].column("field")]
    assert len(documented) == len(set(documented))
    assert set(documented) == leaves(event.wire(1, include_interfaces=True)["data"])


def test_value_sets_are_in_the_field_tables():
    text = "\n".join(" ".join(row) for t in TABLES if t.header[0] == "field" for row in t.rows)
    for values in (ev.DEVICE_STATUSES, ev.SEVERITIES, ev.ALERT_UPDATE_STATUSES, ev.CHANGE_TYPES,
                   ev.DEVICE_TYPES, ev.ML_STATUSES, ev.INTERFACE_STATUSES):
        for value in values:
            assert f"`{value}`" in text, value


# -- subscriptions and client events --------------------------------------------------------------


def test_subscription_table_is_every_channel_type():
    subs = table("type", "id", "channel")
    assert {name(c) for c in subs.column("type")} == set(CHANNEL_TYPES)
    for kind, ident, channel in zip(subs.column("type"), subs.column("id"), subs.column("channel")):
        kind, channel = name(kind), name(channel)
        if "<id>" in channel:
            assert channel_for({"type": kind, "id": "core-1"}) == channel.replace("<id>", "core-1")
        elif "<severity>" in channel:
            assert set(names(ident)) == set(ev.SEVERITIES)
            for severity in ev.SEVERITIES:
                assert channel_for({"type": kind, "id": severity}) == channel.replace("<severity>", severity)
        else:
            assert ident == "none"
            assert channel_for({"type": kind}) == channel


def test_client_event_table_is_every_client_event():
    assert [name(c) for c in table("client event").column("client event")] == list(CLIENT_EVENTS)


# -- error codes ---------------------------------------------------------------------------------


def test_push_error_table_is_every_error_code():
    documented = [name(c) for c in PUSH_TABLE.column("code")]
    assert documented == list(ev.ERROR_CODES)


def test_every_push_code_in_the_code_is_an_error_code():
    unknown = {code: SCAN.where.get(code) for code in SCAN.push - set(ev.ERROR_CODES)}
    assert not unknown, f"error codes used but not in events.ERROR_CODES (nor documented): {unknown}"


def test_push_errors_that_end_the_session():
    ends = dict(zip((name(c) for c in PUSH_TABLE.column("code")), PUSH_TABLE.column("ends the session")))
    for code, fatal in SCAN.fatal.items():
        assert len(fatal) == 1, f"{code} ends the session in some places and not in others"
        (value,) = fatal
        assert ends[code].startswith("yes" if value else "no"), code


def test_http_error_table_is_every_http_code():
    documented = {name(c): status for c, status in zip(HTTP_TABLE.column("code"), HTTP_TABLE.column("status"))}
    assert set(documented) == set(openapi.ERRORS) | set(SCAN.http)
    for code, (status, _) in openapi.ERRORS.items():
        assert str(status) in documented[code], code
    for code, statuses in SCAN.http.items():
        for status in statuses - {None}:
            assert str(status) in documented[code], (code, status)


def test_every_code_in_the_code_is_documented():
    documented = {name(c) for t in (PUSH_TABLE, HTTP_TABLE) for c in t.column("code")}
    missing = {code: SCAN.where.get(code) for code in (SCAN.push | set(SCAN.http) | SCAN.other) - documented}
    assert not missing, f"error codes missing from docs/events.md: {missing}"


def test_engine_io_table():
    engine = table("Engine.IO code", "message")
    assert {int(name(c)): m for c, m in zip(engine.column("Engine.IO code"), engine.column("message"))} == ENGINE_ERRORS


def test_the_doc_names_nothing_the_code_lacks():
    """Outside the tables too: every backticked CODE is a known error code, every
    backticked `a:b` an event type, client event or channel."""
    codes = set(ev.ERROR_CODES) | set(openapi.ERRORS) | set(SCAN.http)
    colon_names = set(ev.EVENT_TYPES) | set(CLIENT_EVENTS) | {f"alerts:{s}" for s in ev.SEVERITIES}
    colon_names |= {"device:<id>", "alerts:<severity>"}
    prose = re.sub(r"^```.*?^```$", "", TEXT, flags=re.S | re.M)  # code blocks would pair backticks wrongly
    assert "```" not in prose
    for token in BACKTICKED.findall(prose):
        if re.fullmatch(r"[A-Z]{4,}(?:_[A-Z]+)*", token) and token not in ("HEAD", "POST", "PATCH", "DELETE"):
            assert token in codes, token
        if re.fullmatch(r"[a-z]+:[a-z<>]+", token):
            assert token in colon_names, token


# -- limits ----------------------------------------------------------------------------------------


def test_push_limits_and_their_defaults():
    limits = table("setting", "default")
    example = tomllib.loads(EXAMPLE_CONFIG.read_text())["push"]
    numeric = {f.name: f.default for f in attrs.fields(PushSettings) if type(f.default) in (int, float)}
    documented = {name(s): d for s, d in zip(limits.column("setting"), limits.column("default"))}
    assert set(documented) == set(numeric)
    for setting, default in numeric.items():
        assert float(documented[setting].split()[0].replace(",", "")) == default == example[setting], setting


def test_port_limits_and_their_defaults():
    """The [web] limits on what anyone who reaches the port can make the server hold: each
    named with its default, as in the code and the example file (a row may name two)."""
    limits = table("`[web]` setting", "default")
    example = tomllib.loads(EXAMPLE_CONFIG.read_text())["web"]
    defaults = {f.name: f.default for f in attrs.fields(WebSettings)}
    documented = {}
    for settings, values in zip(limits.column("`[web]` setting"), limits.column("default")):
        for setting, value in zip(names(settings), values.split(", "), strict=True):
            documented[setting] = float(value.split()[0].rstrip(":").replace(",", ""))
    assert set(documented) == {"fd_reserve", "max_connections", "max_connections_per_address", "ws_frames_per_second",
                               "ws_frame_burst", "max_unjoined_sessions"}
    for setting, default in documented.items():
        assert default == defaults[setting] == example[setting], setting


# -- REST -------------------------------------------------------------------------------------------


def fleet_routes() -> set[tuple[str, str]]:
    """The routes registered with Operation(..., fleet=True): for admins without a scope."""
    out = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _callee(node) == "add" and len(node.args) == 4 and isinstance(node.args[3], ast.Call):
                if any(kw.arg == "fleet" and getattr(kw.value, "value", False) is True for kw in node.args[3].keywords):
                    out.add((node.args[0].value, node.args[1].value))
    return out


def routes() -> dict[tuple[str, str], str | None]:
    """(method, path) -> the least role, or None for anyone ("?" when not a literal), of
    every route registered as add("METHOD", "/path", handler, Operation(summary, tag, role, ...))."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and _callee(node) == "add" and len(node.args) == 4):
                continue
            method, route, _, op = node.args
            if not (isinstance(method, ast.Constant) and isinstance(route, ast.Constant)
                    and isinstance(op, ast.Call) and _callee(op) == "Operation"):
                continue
            role = op.args[2] if len(op.args) > 2 else None
            out[(method.value, route.value)] = role.value if isinstance(role, ast.Constant) else "?"
    return out


def test_rest_table_is_every_route():
    rest = table("method and path", "least role")
    documented = {}
    for cell, role in zip(rest.column("method and path"), rest.column("least role")):
        method, path = name(cell).split(" ", 1)
        documented[(method, path)] = role
    served = routes()
    assert len(served) > 20
    assert set(documented) == set(served)
    for route, role in served.items():
        if role != "?":
            assert documented[route].split()[0] == (role or "anyone"), route
    fleet = fleet_routes()
    assert ("DELETE", "/api/rules/{id}") in fleet
    assert {route for route, role in documented.items() if "(unscoped)" in role} == fleet


def test_device_shape_and_body_name_every_field_and_protocol():
    """The device bullet names each field of the device answer, of a device body and of
    its `snmpv3` object, and every SNMPv3 level and protocol a body takes."""
    bullet = TEXT[TEXT.index("- device: `{id") : TEXT.index("- alert: `{")]
    for shape in (Device, NewDevice, Snmpv3):
        for field in msgspec.structs.fields(shape):
            assert re.search(rf"\b{re.escape(field.encode_name)}\b", bullet), f"{shape.__name__}.{field.encode_name}"
    for name in (*LEVELS, *AUTH_PROTOCOLS, *PRIV_PROTOCOLS):
        assert f"`{name}`" in bullet, name


def test_components_bullet_names_every_field():
    bullet = TEXT[TEXT.index("- components (`GET") : TEXT.index("- trap (`GET")]
    for shape in (Components, DeviceComponent):
        for field in msgspec.structs.fields(shape):
            assert re.search(rf"\b{re.escape(field.encode_name)}\b", bullet), f"{shape.__name__}.{field.encode_name}"
