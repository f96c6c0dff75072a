"""The SNMPv3 security layer on hostile input, like the message decoder in
tests/test_codec_fuzz.py: opening a message (its USM parameters, digest, decryption and
the scoped PDU inside) raises SnmpDecodeError (UsmRejected is one) and nothing else,
whatever the datagram holds, and a trap receiver refuses such a datagram rather than
fail. An authenticated message changed anywhere, by one byte, is never accepted as
authenticated (one whose flags were cleared opens as unauthenticated, which the client
and the receiver refuse from a user with authentication)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_codec_fuzz import FUZZ, decode_hostile, mutated

from eyenet.snmp import message, usm
from eyenet.snmp.ber import SEQUENCE, expect, read_int
from eyenet.snmp.errors import SnmpDecodeError
from eyenet.snmp.message import MessageV3, Pdu, PduType, ScopedPdu
from eyenet.snmp.traps import SNMP_TRAP_OID, SYS_UPTIME, NotificationReceiver
from eyenet.snmp.usm import UsmUser, decode_parameters, open_message, secure_message
from eyenet.snmp.values import Tag, VarBind

ENGINE = bytes.fromhex("80001f888059dc4a4f3b8a5c63")
USERS = [
    UsmUser("u0", "noAuthNoPriv"),
    UsmUser("u1", "authNoPriv", "SHA", "auth-secret-1"),
    UsmUser("u2", "authPriv", "SHA-256", "auth-secret-2", "AES", "priv-secret-2"),
    UsmUser("u3", "authPriv", "MD5", "auth-secret-3", "DES", "priv-secret-3"),
    UsmUser("u4", "authPriv", "SHA-512", "auth-secret-4", "AES-256-C", "priv-secret-4"),
    UsmUser("u5", "authPriv", "SHA-224", "auth-secret-5", "AES-192", "priv-secret-5"),
]
BY_NAME = {u.name: u for u in USERS}
VARBINDS = (
    VarBind(SYS_UPTIME, Tag.TIMETICKS, 4242),
    VarBind(SNMP_TRAP_OID, Tag.OBJECT_IDENTIFIER, (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)),
    VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 3), Tag.INTEGER, 3),
    VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 3), Tag.OCTET_STRING, b"eth1" * 20),
)
SEEDS = [
    secure_message(n + 1, ScopedPdu(ENGINE, b"" if n % 2 else b"ctx", Pdu(pdu, 7 + n, 0, 0, VARBINDS)), u, ENGINE, 3, 1000 + n, 99, False)
    for n, (u, pdu) in enumerate((u, pdu) for u in USERS for pdu in (PduType.TRAP_V2, PduType.INFORM, PduType.RESPONSE))
]
AUTHENTICATED = [s for s, (u, _) in zip(SEEDS, ((u, p) for u in USERS for p in range(3))) if u.flags]


def open_hostile(data: bytes):
    """Open data as any of the users would: the opened message, or None for SnmpDecodeError."""
    msg = decode_hostile(data)
    if not isinstance(msg, MessageV3):
        return None
    try:
        params, _ = decode_parameters(msg.security_parameters)
    except SnmpDecodeError:
        return None
    user = BY_NAME.get(params.user.decode("latin-1"))
    try:
        return open_message(data, msg, user)
    except SnmpDecodeError:
        return None


def receive_hostile(data: bytes):
    """What a trap receiver with every user makes of data: the notification, if any."""
    receiver = NotificationReceiver(ENGINE, None, BY_NAME, boots=3, started=0.0)
    got = receiver.receive(data, ("192.0.2.1", 162), 1000.0)
    assert got.notification is not None or got.reply is not None or got.refused
    return got.notification


def refused(data: bytes) -> bool:
    opened = open_hostile(data)
    return (opened is None or not opened.authenticated) and receive_hostile(data) is None


def answer(read, *args):
    try:
        return read(*args)
    except SnmpDecodeError:
        return "refused"


def assert_usual_shape_readers_agree(data: bytes) -> None:
    """Where the readers of the usual v3 header and USM parameters answer (they leave anything
    unusual to the generic ones), they answer as the generic ones do."""
    try:
        start, stop = expect(data, 0, len(data), SEQUENCE, "message")
        _, pos = read_int(data, start, stop, "version")
    except SnmpDecodeError:
        return
    usual = message._usual_v3_header(data, pos, stop)
    if usual is not None:
        assert usual == answer(message._v3_header, data, pos, stop)
        params = data[usual[4] : usual[5]]
        usual_params = usm._usual_parameters(params)
        if usual_params is not None:
            assert usual_params == answer(usm._decode_parameters, params)


def client_opens(data: bytes):
    """What the client makes of data: v3_framing, then open_framed as the user the message
    names; None when it is no v3 message (decode_message takes it then), "refused" for
    SnmpDecodeError."""
    try:
        framing = message.v3_framing(data)
        if framing is None:
            assert not isinstance(message.decode_message(data), MessageV3)
            return None
        params, _ = decode_parameters(data[framing[4] : framing[5]])
        return usm.open_framed(data, framing, BY_NAME.get(params.user.decode("latin-1")))
    except SnmpDecodeError:
        return "refused"


def receiver_opens(data: bytes):
    """client_opens through decode_message and open_message, the trap receiver's way."""
    try:
        msg = message.decode_message(data)
        if not isinstance(msg, MessageV3):
            return None
        params, _ = decode_parameters(msg.security_parameters)
        return open_message(data, msg, BY_NAME.get(params.user.decode("latin-1")))
    except SnmpDecodeError:
        return "refused"


def assert_both_ways_in_agree(data: bytes) -> None:
    """The client's short way in (the framing's unrolled reader, the PDU read after the
    digest) opens what decode_message and open_message open, and refuses what they refuse;
    and the unrolled scoped PDU reader answers as the generic one where it answers."""
    assert client_opens(data) == receiver_opens(data)
    for pos in range(len(data)):
        if data[pos] == SEQUENCE:
            usual = answer(message._usual_scoped_pdu, data, pos, len(data))
            if usual is not None:
                assert usual == answer(message._decode_scoped_pdu, data, pos, len(data))


def test_the_seeds_take_the_usual_shape_readers():
    for seed in SEEDS:
        pos, stop = expect(seed, 0, len(seed), SEQUENCE, "message")
        start, end = message._usual_v3_header(seed, pos + 3, stop)[4:]  # after the version
        assert usm._usual_parameters(seed[start:end]) is not None
        assert message.v3_framing(seed) == message._usual_v3_header(seed, pos + 3, stop)
        if seed[end] == SEQUENCE:
            assert message._usual_scoped_pdu(seed, end, len(seed)) is not None
        assert client_opens(seed) == receiver_opens(seed) != "refused"


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{i}" for i in range(len(SEEDS))])
def test_the_usual_shape_readers_agree_with_the_generic_ones(seed):
    for i in range(len(seed)):
        for b in (seed[i] ^ 0x01, seed[i] ^ 0x80, 0x00, 0x7F, 0x81, 0xFF):
            assert_usual_shape_readers_agree(seed[:i] + bytes((b,)) + seed[i + 1 :])
            assert client_opens(seed[:i] + bytes((b,)) + seed[i + 1 :]) == receiver_opens(seed[:i] + bytes((b,)) + seed[i + 1 :])
        assert_usual_shape_readers_agree(seed[:i])
        assert_usual_shape_readers_agree(seed[:i] + seed[i + 1 :])
        assert client_opens(seed[:i]) == receiver_opens(seed[:i])
        assert client_opens(seed[:i] + seed[i + 1 :]) == receiver_opens(seed[:i] + seed[i + 1 :])


def test_the_seeds_open_and_their_notifications_arrive():
    for seed in SEEDS:
        assert open_hostile(seed) is not None
    assert sum(receive_hostile(seed) is not None for seed in SEEDS) == 2 * len(USERS)  # not the Responses


@pytest.mark.parametrize("seed", AUTHENTICATED, ids=[f"seed{i}" for i in range(len(AUTHENTICATED))])
def test_every_single_byte_change_of_an_authenticated_message_is_refused(seed):
    for i in range(len(seed)):
        for b in (seed[i] ^ 0x01, seed[i] ^ 0x80, 0x00, 0xFF):
            if b != seed[i]:
                assert refused(seed[:i] + bytes((b,)) + seed[i + 1 :]), (i, b)


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{i}" for i in range(len(SEEDS))])
def test_every_truncation_and_deletion(seed):
    for n in range(len(seed)):
        assert open_hostile(seed[:n]) is None
        open_hostile(seed[:n] + seed[n + 1 :])
        receive_hostile(seed[:n])


@FUZZ
@given(mutated(SEEDS))
def test_mutated_v3_messages(data):
    assert_usual_shape_readers_agree(data)
    assert_both_ways_in_agree(bytes(data))
    open_hostile(data)
    receive_hostile(data)


@FUZZ
@given(st.binary(max_size=200))
def test_random_security_parameters(params):
    usual = usm._usual_parameters(params)
    if usual is not None:
        assert usual == answer(usm._decode_parameters, params)
    try:
        decode_parameters(params)
    except SnmpDecodeError:
        pass


@FUZZ
@given(st.sampled_from(AUTHENTICATED), st.binary(min_size=1, max_size=64))
def test_random_bytes_for_the_encrypted_pdu_or_the_digest(seed, junk):
    """Splice junk over the tail (the encrypted or plain scoped PDU) or the middle (the
    security parameters): never accepted, never another exception."""
    for at in (len(seed) - len(junk), len(seed) // 2):
        data = seed[:at] + junk + seed[at + len(junk) :]
        if data != seed:
            assert refused(data)
