"""The Engine.IO / Socket.IO codec against the captured vectors (socketio-protocol.md, section 8),
round trips of generated packets, and malformed input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eyenet.web.push.socketio_codec import (
    MAX_ACK_ID,
    RESERVED_EVENTS,
    RS,
    EioPacket,
    EioType,
    ProtocolError,
    SioPacket,
    SioType,
    decode_eio,
    decode_payload,
    decode_sio,
    encode_eio,
    encode_payload,
    encode_sio,
    engine_error,
    open_packet,
)

METRICS = (
    '{"type":"device:metrics","id":1,"data":{"deviceId":"device_id","metrics":{"cpu":45.2,"memory":78.5,'
    '"bandwidth":{"in":1024,"out":2048}},"timestamp":"2025-01-03T07:12:55+08:00"}}'
)


def message(text: str) -> SioPacket:
    """An Engine.IO message carrying a Socket.IO packet, decoded through both layers."""
    eio = decode_eio(text)
    assert eio.type is EioType.MESSAGE
    return decode_sio(eio.data)


def wire(packet: SioPacket) -> str:
    return encode_eio(EioPacket(EioType.MESSAGE, encode_sio(packet)))


# -- section 8 ---------------------------------------------------------------------------------


def test_handshakes():
    assert open_packet("eioSID00000000000001", ["websocket"], 25.0, 20.0, 1_000_000) == (
        '0{"sid":"eioSID00000000000001","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
    )
    assert open_packet("eioSID00000000000002", [], 0.3, 0.2, 1_000_000) == (
        '0{"sid":"eioSID00000000000002","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}'
    )


@pytest.mark.parametrize("text, packet", [
    ("2probe", EioPacket(EioType.PING, "probe")),
    ("3probe", EioPacket(EioType.PONG, "probe")),
    ("2", EioPacket(EioType.PING)),
    ("3", EioPacket(EioType.PONG)),
    ("5", EioPacket(EioType.UPGRADE)),
    ("6", EioPacket(EioType.NOOP)),
    ("1", EioPacket(EioType.CLOSE)),
    ("4hello", EioPacket(EioType.MESSAGE, "hello")),
    ("bAQIDBA==", EioPacket(EioType.MESSAGE, b"\x01\x02\x03\x04")),
])
def test_engine_packets(text, packet):
    assert decode_eio(text) == packet
    assert encode_eio(packet) == text


@pytest.mark.parametrize("text, packet", [
    ('40/ws,{"token":"<JWT>"}', SioPacket(SioType.CONNECT, "/ws", {"token": "<JWT>"})),
    ('40/ws,{"sid":"sioSID00000000000001"}', SioPacket(SioType.CONNECT, "/ws", {"sid": "sioSID00000000000001"})),
    ('42/ws,0["subscribe",{"type":"device","id":"device_id"}]',
     SioPacket(SioType.EVENT, "/ws", ["subscribe", {"type": "device", "id": "device_id"}], 0)),
    ('43/ws,0[{"status":"subscribed","channel":"device:device_id"}]',
     SioPacket(SioType.ACK, "/ws", [{"status": "subscribed", "channel": "device:device_id"}], 0)),
    (f'42/ws,["device:metrics",{METRICS}]', SioPacket(SioType.EVENT, "/ws", ["device:metrics", json.loads(METRICS)])),
    ("41/ws,", SioPacket(SioType.DISCONNECT, "/ws")),
    ('44/ws,{"message":"unauthorized","data":{"code":"invalid_token","detail":"Invalid Compact JWS"}}',
     SioPacket(SioType.CONNECT_ERROR, "/ws",
               {"message": "unauthorized", "data": {"code": "invalid_token", "detail": "Invalid Compact JWS"}})),
    ("40/nope,", SioPacket(SioType.CONNECT, "/nope")),
    ('44/nope,{"message":"Invalid namespace"}', SioPacket(SioType.CONNECT_ERROR, "/nope", {"message": "Invalid namespace"})),
    ('44{"message":"Invalid namespace"}', SioPacket(SioType.CONNECT_ERROR, "/", {"message": "Invalid namespace"})),
    ('40/ws,{"sid":"sioSID00000000000003","pid":"pidSID00000000000003"}',
     SioPacket(SioType.CONNECT, "/ws", {"sid": "sioSID00000000000003", "pid": "pidSID00000000000003"})),
    ('40/ws,{"pid":"pidSID00000000000003","offset":"42","token":"<JWT>"}',
     SioPacket(SioType.CONNECT, "/ws", {"pid": "pidSID00000000000003", "offset": "42", "token": "<JWT>"})),
    ('42/ws,["device:metrics",{"type":"device:metrics","id":43,"data":{}},"43"]',
     SioPacket(SioType.EVENT, "/ws", ["device:metrics", {"type": "device:metrics", "id": 43, "data": {}}, "43"])),
    ('451-/ws,["blob",{"_placeholder":true,"num":0}]',
     SioPacket(SioType.BINARY_EVENT, "/ws", ["blob", {"_placeholder": True, "num": 0}], attachments=1)),
    ("40", SioPacket(SioType.CONNECT)),
])
def test_socketio_vectors(text, packet):
    assert message(text) == packet
    assert wire(packet) == text


def test_polling_bodies():
    body = f'42/ws,["device:metrics",{METRICS}]{RS}2{RS}42/ws,["device:status",{{}}]'
    packets = decode_payload(body)
    assert [p.type for p in packets] == [EioType.MESSAGE, EioType.PING, EioType.MESSAGE]
    assert decode_sio(packets[2].data) == SioPacket(SioType.EVENT, "/ws", ["device:status", {}])
    assert encode_payload(encode_eio(p) for p in packets) == body
    assert decode_payload(f"4hello{RS}bAQIDBA==") == [
        EioPacket(EioType.MESSAGE, "hello"), EioPacket(EioType.MESSAGE, b"\x01\x02\x03\x04")
    ]


def test_engine_error_bodies():
    assert engine_error(0) == {"code": 0, "message": "Transport unknown"}
    assert engine_error(1) == {"code": 1, "message": "Session ID unknown"}
    assert engine_error(2) == {"code": 2, "message": "Bad handshake method"}
    assert engine_error(3) == {"code": 3, "message": "Bad request"}
    assert engine_error(4) == {"code": 4, "message": "Forbidden"}
    assert engine_error(5) == {"code": 5, "message": "Unsupported protocol version"}


def test_record_separator_is_escaped_in_json():
    text = encode_sio(SioPacket(SioType.EVENT, "/ws", ["x", {"s": f"a{RS}b"}]))
    assert RS not in text
    assert decode_payload(f"4{text}{RS}4{text}")[1].data == text


# -- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, says", [
    ("", "empty"),
    ("7", "unknown type '7'"),
    ("x", "unknown type 'x'"),
    ("b!!!", "not valid base64"),
    ("b\x80", "not valid base64"),
])
def test_bad_engine_packets(text, says):
    with pytest.raises(ProtocolError, match=says):
        decode_eio(text)


def test_empty_polling_body():
    with pytest.raises(ProtocolError, match="empty"):
        decode_payload("")


@pytest.mark.parametrize("text, says", [
    ("", "no valid type"),
    ("9", "no valid type"),
    ("2/ws,", "EVENT packet .* has no payload"),
    ("3/ws,1", "ACK packet .* has no payload"),
    ("2/ws,{}", "must be an array whose first element"),
    ("2/ws,[]", "must be an array whose first element"),
    ('2/ws,["connect"]', "not a reserved name"),
    ("2/ws,[true]", "must be an array whose first element"),
    ("0/ws,null", "must be an object"),
    ('0/ws,"token"', "must be an object"),
    ("1/ws,{}", "must be absent"),
    ("3/ws,0{}", "ACK .* must be an array"),
    ("4/ws,[1]", "CONNECT_ERROR .* must be an object or a string"),
    ('5/ws,["x"]', "attachment count"),
    ('51/ws,["x"]', "attachment count"),
    ("2/ws,[", "not valid JSON"),
    ("2/ws,[NaN]", "not valid JSON"),
    ('2/ws,["a"]x', "not valid JSON"),
    (f'2/ws,{10 ** 17}["a"]', "ack id above"),
    ("2" + "[" * 100_000, "nested too deeply"),
])
def test_bad_socketio_packets(text, says):
    with pytest.raises(ProtocolError, match=says):
        decode_sio(text)


@given(st.text())
def test_any_text_decodes_or_raises_protocol_error(text):
    for decode in (decode_eio, decode_sio, decode_payload):
        try:
            decode(text)
        except ProtocolError:
            pass


# -- round trips -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
event_names = st.text(min_size=1).filter(lambda s: s not in RESERVED_EVENTS) | st.integers(0, 1000)
# A namespace is not JSON-escaped: one holding \x1e cannot come in a polling body, so a
# client can only send it over WebSocket, where the answer goes back too.
namespaces = st.just("/") | st.text(
    st.characters(blacklist_characters="," + RS, blacklist_categories=("Cs",)), min_size=1).map("/".__add__)
ack_ids = st.none() | st.integers(0, MAX_ACK_ID)


@st.composite
def sio_packets(draw) -> SioPacket:
    ptype = draw(st.sampled_from(SioType))
    nsp = draw(namespaces)
    if ptype is SioType.CONNECT:
        return SioPacket(ptype, nsp, draw(st.none() | json_objects))
    if ptype is SioType.DISCONNECT:
        return SioPacket(ptype, nsp)
    if ptype is SioType.CONNECT_ERROR:
        return SioPacket(ptype, nsp, draw(json_objects | st.text()))
    if ptype in (SioType.EVENT, SioType.BINARY_EVENT):
        data = [draw(event_names), *draw(st.lists(json_values, max_size=3))]
    else:
        data = draw(st.lists(json_values, max_size=3))
    attachments = draw(st.integers(0, 9)) if ptype in (SioType.BINARY_EVENT, SioType.BINARY_ACK) else 0
    return SioPacket(ptype, nsp, data, draw(ack_ids), attachments)


@given(sio_packets())
def test_socketio_round_trip(packet):
    text = encode_sio(packet)
    assert decode_sio(text) == packet
    assert RS not in text


@given(st.lists(st.one_of(
    st.builds(EioPacket, st.sampled_from(EioType), st.text().filter(lambda s: RS not in s)),
    st.builds(EioPacket, st.just(EioType.MESSAGE), st.binary()),
), min_size=1))
def test_polling_payload_round_trip(packets):
    assert decode_payload(encode_payload(encode_eio(p) for p in packets)) == packets
