"""Engine.IO v4 and Socket.IO v5 packets, sans-io (socketio-protocol.md, sections 3 and 4).

Engine.IO: a text packet is one digit (its type) and a payload; a binary message is
raw bytes on WebSocket and ``b<base64>`` in a polling body, where packets are joined
by the record separator ``\\x1e``. Socket.IO packets ride inside Engine.IO messages
as ``<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]``.

Decoding follows socket.io-parser, including its check of each packet type's
payload, so what the stock client would refuse we refuse too. Every malformed
input raises one :class:`ProtocolError` whose message says what is wrong; nothing
else escapes.
"""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Iterable
from typing import Any

import attrs

from eyenet.web import inbound

RS = "\x1e"  # joins the packets of a polling body; JSON escapes it, so splitting is safe
MAX_ACK_ID = 2**53 - 1  # the client counts ack ids in a JS number
MAX_ATTACHMENTS_DIGITS = 6  # binary packets are refused anyway: their count is only read so far
# Event names the client reserves (socket.io-parser RESERVED_EVENTS).
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"})
# The error bodies of Engine.IO's HTTP 400/403 answers, by code.
ENGINE_ERRORS = {
    0: "Transport unknown",
    1: "Session ID unknown",
    2: "Bad handshake method",
    3: "Bad request",
    4: "Forbidden",
    5: "Unsupported protocol version",
}


class ProtocolError(ValueError):
    """A malformed Engine.IO or Socket.IO packet; str() says what is wrong. `hostile`: its
    payload is beyond the bounds no honest client reaches (inbound.BeyondBounds)."""

    def __init__(self, message: str, *, hostile: bool = False) -> None:
        super().__init__(message)
        self.hostile = hostile


def _quote(text: str | bytes, limit: int = 60) -> str:
    """A short excerpt of bad input for an error message (never the whole body)."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


# -- Engine.IO ---------------------------------------------------------------------------------


class EioType(enum.IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


@attrs.frozen
class EioPacket:
    type: EioType
    data: str | bytes = ""  # bytes only for a binary message


def decode_eio(text: str) -> EioPacket:
    """One text packet (a WebSocket text frame or one record of a polling body)."""
    if not text:
        raise ProtocolError("empty Engine.IO packet")
    head = text[0]
    if head == "b":
        try:
            return EioPacket(EioType.MESSAGE, base64.b64decode(text[1:], validate=True))
        except ValueError:  # binascii.Error, or a character outside ASCII
            raise ProtocolError(f"Engine.IO binary packet {_quote(text)} is not valid base64") from None
    if head not in "0123456":
        raise ProtocolError(f"Engine.IO packet {_quote(text)} has unknown type {head!r} (expected a digit 0-6 or 'b')")
    return EioPacket(EioType(int(head)), text[1:])


def encode_eio(packet: EioPacket) -> str:
    """A text packet; a binary message as ``b<base64>`` (its polling form)."""
    if isinstance(packet.data, bytes):
        if packet.type is not EioType.MESSAGE:
            raise ValueError(f"only a message can carry binary data, not {packet.type.name}")
        return "b" + base64.b64encode(packet.data).decode("ascii")
    return f"{packet.type.value}{packet.data}"


def decode_payload(body: str) -> list[EioPacket]:
    """A polling POST body: packets joined by \\x1e."""
    return [decode_eio(record) for record in body.split(RS)]


def encode_payload(packets: Iterable[str]) -> str:
    return RS.join(packets)


def open_packet(sid: str, upgrades: Iterable[str], ping_interval: float, ping_timeout: float, max_payload: int) -> str:
    """The handshake: exactly the five keys the official test suite checks (times in ms)."""
    return "0" + dumps({
        "sid": sid,
        "upgrades": list(upgrades),
        "pingInterval": round(ping_interval * 1000),
        "pingTimeout": round(ping_timeout * 1000),
        "maxPayload": max_payload,
    })


def engine_error(code: int) -> dict[str, Any]:
    """The JSON body of an Engine.IO HTTP error, e.g. {"code": 1, "message": "Session ID unknown"}."""
    return {"code": code, "message": ENGINE_ERRORS[code]}


# -- Socket.IO ---------------------------------------------------------------------------------


class SioType(enum.IntEnum):
    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


BINARY_TYPES = (SioType.BINARY_EVENT, SioType.BINARY_ACK)


@attrs.frozen
class SioPacket:
    type: SioType
    nsp: str = "/"
    data: Any = None  # None: no payload (JSON null is never a valid payload)
    id: int | None = None  # ack id
    attachments: int = 0  # binary packets only


def dumps(value: Any) -> str:
    """Compact JSON as JSON.stringify writes it (what the vectors show)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_sio(packet: SioPacket) -> str:
    out = str(packet.type.value)
    if packet.type in BINARY_TYPES:
        out += f"{packet.attachments}-"
    if packet.nsp != "/":
        out += packet.nsp + ","
    if packet.id is not None:
        out += str(packet.id)
    if packet.data is not None:
        out += dumps(packet.data)
    return out


def _digits(text: str, start: int) -> int:
    """Index just past the run of ASCII digits at `start`."""
    end = start
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    return end


def decode_sio(text: str) -> SioPacket:
    """One Socket.IO packet (the payload of an Engine.IO message), as socket.io-parser reads it."""
    if not text or text[0] not in "0123456":
        raise ProtocolError(f"Socket.IO packet {_quote(text)} has no valid type (expected a digit 0-6 first)")
    ptype = SioType(int(text[0]))
    i = 1
    attachments = 0
    if ptype in BINARY_TYPES:
        end = _digits(text, i)
        if end == i or end >= len(text) or text[end] != "-":
            raise ProtocolError(f"Socket.IO binary packet {_quote(text)} lacks its attachment count ('<n>-')")
        if end - i > MAX_ATTACHMENTS_DIGITS:
            raise ProtocolError(f"Socket.IO binary packet {_quote(text)} has an attachment count of {end - i} digits")
        attachments, i = int(text[i:end]), end + 1
    nsp = "/"
    if text.startswith("/", i):
        comma = text.find(",", i)
        end = len(text) if comma < 0 else comma
        nsp, i = text[i:end], end + 1
    ack_id = None
    end = _digits(text, i)
    if end > i:
        if end - i > 16 or int(text[i:end]) > MAX_ACK_ID:
            raise ProtocolError(f"Socket.IO packet {_quote(text)} has an ack id above {MAX_ACK_ID}")
        ack_id, i = int(text[i:end]), end
    data = None
    if i < len(text):
        try:
            data = inbound.loads(text[i:])
        except inbound.BeyondBounds as exc:
            raise ProtocolError(f"Socket.IO packet {_quote(text)}: the payload {exc}", hostile=True) from None
        except ValueError as exc:
            raise ProtocolError(f"Socket.IO packet {_quote(text)}: the payload is not valid JSON ({exc})") from None
        _check_payload(ptype, data, text)
    elif ptype not in (SioType.CONNECT, SioType.DISCONNECT, SioType.CONNECT_ERROR):
        raise ProtocolError(f"Socket.IO {ptype.name} packet {_quote(text)} has no payload (an array is required)")
    return SioPacket(ptype, nsp, data, ack_id, attachments)


def _check_payload(ptype: SioType, data: Any, text: str) -> None:
    """socket.io-parser's isPayloadValid, with a message saying which rule failed."""
    if ptype is SioType.CONNECT:
        ok, need = isinstance(data, dict), "an object (the auth payload)"
    elif ptype is SioType.DISCONNECT:
        ok, need = False, "absent"
    elif ptype is SioType.CONNECT_ERROR:
        ok, need = isinstance(data, (dict, str)), "an object or a string"
    elif ptype in (SioType.EVENT, SioType.BINARY_EVENT):
        name = data[0] if isinstance(data, list) and data else None
        ok = (isinstance(name, (int, float)) and not isinstance(name, bool)) or (
            isinstance(name, str) and name not in RESERVED_EVENTS)
        need = "an array whose first element is the event name (a string, not a reserved name)"
    else:
        ok, need = isinstance(data, list), "an array"
    if not ok:
        raise ProtocolError(f"Socket.IO {ptype.name} packet {_quote(text)}: the payload must be {need}")
