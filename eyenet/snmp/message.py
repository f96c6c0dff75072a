"""SNMP messages and PDUs (RFC 1157, RFC 3416, RFC 3412) to and from bytes.

Community messages (v1, v2c) carry a PDU directly. The v3 message framing is
decoded here too; its security parameters and (possibly encrypted) scoped PDU
are handed to the USM layer as bytes, so v3 slots in without touching this module.
"""

from enum import IntEnum

import attrs

from eyenet.snmp.ber import (
    INTEGER,
    OCTET_STRING,
    SEQUENCE,
    decode_oid,
    decode_varbinds,
    encode_oid,
    encode_signed,
    encode_unsigned,
    encode_varbinds,
    expect,
    read_header,
    read_int,
    tlv,
)
from eyenet.snmp.errors import SnmpDecodeError
from eyenet.snmp.values import Oid, Tag, VarBind


class Version(IntEnum):
    V1 = 0
    V2C = 1
    V3 = 3


# The versions a manager speaks, by the names targets and the configuration give them.
COMMUNITY_VERSIONS = {"1": Version.V1, "2c": Version.V2C}
VERSIONS = {**COMMUNITY_VERSIONS, "3": Version.V3}


class PduType(IntEnum):
    GET = 0xA0
    GET_NEXT = 0xA1
    RESPONSE = 0xA2
    SET = 0xA3
    TRAP_V1 = 0xA4
    GET_BULK = 0xA5
    INFORM = 0xA6
    TRAP_V2 = 0xA7
    REPORT = 0xA8


class ErrorStatus(IntEnum):
    NO_ERROR = 0
    TOO_BIG = 1
    NO_SUCH_NAME = 2
    BAD_VALUE = 3
    READ_ONLY = 4
    GEN_ERR = 5
    NO_ACCESS = 6
    WRONG_TYPE = 7
    WRONG_LENGTH = 8
    WRONG_ENCODING = 9
    WRONG_VALUE = 10
    NO_CREATION = 11
    INCONSISTENT_VALUE = 12
    RESOURCE_UNAVAILABLE = 13
    COMMIT_FAILED = 14
    UNDO_FAILED = 15
    AUTHORIZATION_ERROR = 16
    NOT_WRITABLE = 17
    INCONSISTENT_NAME = 18


def error_status_name(status: int) -> str:
    try:
        words = ErrorStatus(status).name.lower().split("_")
    except ValueError:
        return f"error-status {status}"
    return words[0] + "".join(w.title() for w in words[1:])


@attrs.frozen
class Pdu:
    """Every PDU but GetBulk and the v1 Trap: Get, GetNext, Response, Set, Inform, Trap v2, Report."""

    type: PduType
    request_id: int
    error_status: int = 0
    error_index: int = 0
    varbinds: tuple[VarBind, ...] = ()


@attrs.frozen
class BulkPdu:
    request_id: int
    non_repeaters: int
    max_repetitions: int
    varbinds: tuple[VarBind, ...] = ()
    type = PduType.GET_BULK


@attrs.frozen
class TrapV1Pdu:
    enterprise: Oid
    agent_addr: bytes
    generic_trap: int
    specific_trap: int
    timestamp: int
    varbinds: tuple[VarBind, ...] = ()
    type = PduType.TRAP_V1


AnyPdu = Pdu | BulkPdu | TrapV1Pdu


@attrs.frozen
class Message:
    """A community-based message: SNMPv1 or SNMPv2c."""

    version: Version
    community: bytes
    pdu: AnyPdu


@attrs.frozen
class ScopedPdu:
    context_engine_id: bytes
    context_name: bytes
    pdu: AnyPdu


@attrs.frozen
class MessageV3:
    """An SNMPv3 message. scoped_pdu is None when the PDU is encrypted (then encrypted_pdu holds it).

    security_offset: where security_parameters start in the datagram it was decoded from
    (authentication zeroes a field inside them to check the digest over the whole datagram)."""

    msg_id: int
    max_size: int
    flags: int
    security_model: int
    security_parameters: bytes
    scoped_pdu: ScopedPdu | None = None
    encrypted_pdu: bytes | None = None
    security_offset: int = attrs.field(default=0, eq=False)


# -- encoding -----------------------------------------------------------------


def encode_pdu(pdu: AnyPdu) -> bytes:
    vbl = encode_varbinds(pdu.varbinds)
    if isinstance(pdu, BulkPdu):
        head = (
            tlv(Tag.INTEGER, encode_signed(pdu.request_id))
            + tlv(Tag.INTEGER, encode_signed(pdu.non_repeaters))
            + tlv(Tag.INTEGER, encode_signed(pdu.max_repetitions))
        )
    elif isinstance(pdu, TrapV1Pdu):
        head = (
            tlv(Tag.OBJECT_IDENTIFIER, encode_oid(pdu.enterprise))
            + tlv(Tag.IPADDRESS, pdu.agent_addr)
            + tlv(Tag.INTEGER, encode_signed(pdu.generic_trap))
            + tlv(Tag.INTEGER, encode_signed(pdu.specific_trap))
            + tlv(Tag.TIMETICKS, encode_unsigned(pdu.timestamp))
        )
    else:
        head = (
            tlv(Tag.INTEGER, encode_signed(pdu.request_id))
            + tlv(Tag.INTEGER, encode_signed(pdu.error_status))
            + tlv(Tag.INTEGER, encode_signed(pdu.error_index))
        )
    return tlv(pdu.type, head + vbl)


def encode_scoped_pdu(sp: ScopedPdu) -> bytes:
    return tlv(SEQUENCE, tlv(OCTET_STRING, sp.context_engine_id) + tlv(OCTET_STRING, sp.context_name) + encode_pdu(sp.pdu))


def encode_v3(msg_id: int, max_size: int, flags: int, security_model: int, security_parameters: bytes, data: bytes) -> bytes:
    """A v3 message around `data`: the ScopedPDU's TLV, or the encrypted one's OCTET STRING TLV.
    The security parameters' content ends len(data) bytes before the end (USM relies on it)."""
    header = tlv(
        SEQUENCE,
        tlv(INTEGER, encode_signed(msg_id))
        + tlv(INTEGER, encode_signed(max_size))
        + tlv(OCTET_STRING, bytes((flags,)))
        + tlv(INTEGER, encode_signed(security_model)),
    )
    return tlv(SEQUENCE, b"\x02\x01\x03" + header + tlv(OCTET_STRING, security_parameters) + data)


def encode_message(msg: Message | MessageV3) -> bytes:
    if isinstance(msg, MessageV3):
        if msg.scoped_pdu is not None:
            data = encode_scoped_pdu(msg.scoped_pdu)
        else:
            data = tlv(Tag.OCTET_STRING, msg.encrypted_pdu or b"")
        return encode_v3(msg.msg_id, msg.max_size, msg.flags, msg.security_model, msg.security_parameters, data)
    return tlv(
        SEQUENCE,
        tlv(Tag.INTEGER, encode_signed(msg.version))
        + tlv(Tag.OCTET_STRING, msg.community)
        + encode_pdu(msg.pdu),
    )


# -- decoding -----------------------------------------------------------------


def decode_message(data: bytes) -> Message | MessageV3:
    """Bytes of one datagram -> Message (v1, v2c) or MessageV3; SnmpDecodeError if malformed."""
    data = bytes(data)
    try:
        start, stop = expect(data, 0, len(data), SEQUENCE, "message SEQUENCE")
        if stop != len(data):
            raise SnmpDecodeError(f"{len(data) - stop} trailing bytes after the message")
        version, pos = read_int(data, start, stop, "version")
        if version == Version.V3:
            return _decode_v3(data, pos, stop)
        if version not in (Version.V1, Version.V2C):
            raise SnmpDecodeError(f"unsupported SNMP version number {version}")
        s, e = expect(data, pos, stop, Tag.OCTET_STRING, "community")
        community = data[s:e]
        pdu, pos = decode_pdu(data, e, stop)
        if pos != stop:
            raise SnmpDecodeError(f"{stop - pos} stray bytes after the PDU at offset {pos}")
        if version == Version.V1 and pdu.type in (PduType.GET_BULK, PduType.INFORM, PduType.TRAP_V2, PduType.REPORT):
            raise SnmpDecodeError(f"PDU type 0x{pdu.type:02x} is not defined in SNMPv1")
        return Message(Version(version), community, pdu)
    except (IndexError, ValueError, OverflowError) as exc:  # a bounds check missed: still one error type
        raise SnmpDecodeError(f"malformed message: {exc}") from None


def decode_pdu(data: bytes, pos: int, end: int) -> tuple[AnyPdu, int]:
    tag, start, stop = read_header(data, pos, end)
    try:
        kind = PduType(tag)
    except ValueError:
        raise SnmpDecodeError(f"unknown PDU type 0x{tag:02x} at offset {pos}") from None
    if kind == PduType.TRAP_V1:
        s, e = expect(data, start, stop, Tag.OBJECT_IDENTIFIER, "enterprise")
        enterprise = decode_oid(data[s:e], start)
        s, e = expect(data, e, stop, Tag.IPADDRESS, "agent-addr")
        if e - s != 4:
            raise SnmpDecodeError(f"agent-addr at offset {s} has {e - s} bytes, not 4")
        agent_addr = data[s:e]
        generic, p = read_int(data, e, stop, "generic-trap")
        specific, p = read_int(data, p, stop, "specific-trap")
        s, e = expect(data, p, stop, Tag.TIMETICKS, "time-stamp")
        timestamp = int.from_bytes(data[s:e], "big")
        if not 0 < e - s <= 5 or timestamp > 0xFFFFFFFF:
            raise SnmpDecodeError(f"time-stamp at offset {p} is not a 32-bit TimeTicks")
        varbinds, p = decode_varbinds(data, e, stop)
        pdu: AnyPdu = TrapV1Pdu(enterprise, agent_addr, generic, specific, timestamp, tuple(varbinds))
    else:
        request_id, p = read_int(data, start, stop, "request-id")
        a, p = read_int(data, p, stop, "error-status" if kind != PduType.GET_BULK else "non-repeaters")
        b, p = read_int(data, p, stop, "error-index" if kind != PduType.GET_BULK else "max-repetitions")
        varbinds, p = decode_varbinds(data, p, stop)
        if kind == PduType.GET_BULK:
            pdu = BulkPdu(request_id, a, b, tuple(varbinds))
        else:
            pdu = Pdu(kind, request_id, a, b, tuple(varbinds))
    if p != stop:
        raise SnmpDecodeError(f"{stop - p} stray bytes at the end of the PDU at offset {pos}")
    return pdu, stop


# msgID, msgMaxSize, msgFlags, msgSecurityModel, and the start and end of msgSecurityParameters'
# content in the datagram: what the security model needs of a v3 message's framing.
V3Framing = tuple[int, int, int, int, int, int]
# The version INTEGER of v1 and v2c as every sender encodes it: such messages are not v3.
_COMMUNITY_VERSION_TLVS = (b"\x02\x01\x00", b"\x02\x01\x01")


def v3_framing(data: bytes) -> V3Framing | None:
    """The framing of a v3 message, checked as decode_message checks it up to the security
    parameters; the scoped PDU after them (at their end) is left to the security model. None
    when data is not a v3 message (decode_message takes the rest); SnmpDecodeError when it
    is a malformed one. Every agent's answers take a short unrolled path."""
    try:
        n = data[1]
        p = 2 if n < 0x80 else 3 if n == 0x81 else 4 if n == 0x82 else 0
        if p and data[0] == SEQUENCE and data[p : p + 3] == b"\x02\x01\x03":
            if p == 2 or n == 0x81 and data[2] >= 0x80 or n == 0x82 and data[2]:  # minimal lengths only
                size = n if p == 2 else data[2] if p == 3 else data[2] << 8 | data[3]
                if size == len(data) - p:
                    usual = _usual_v3_header(data, p + 3, len(data))
                    if usual is not None:
                        return usual
        elif data[p : p + 3] in _COMMUNITY_VERSION_TLVS:
            return None
    except IndexError:
        pass
    msg = decode_message(data)
    if type(msg) is not MessageV3:
        return None
    start = msg.security_offset
    return msg.msg_id, msg.max_size, msg.flags, msg.security_model, start, start + len(msg.security_parameters)


def _decode_v3(data: bytes, pos: int, end: int) -> MessageV3:
    msg_id, max_size, flags, model, ps, e = _usual_v3_header(data, pos, end) or _v3_header(data, pos, end)
    params = data[ps:e]
    tag, s, stop = read_header(data, e, end)
    if stop != end:
        raise SnmpDecodeError(f"stray bytes after the scoped PDU at offset {stop}")
    if tag == OCTET_STRING:
        return MessageV3(msg_id, max_size, flags, model, params, None, data[s:stop], security_offset=ps)
    if tag != SEQUENCE:
        raise SnmpDecodeError(f"expected a ScopedPDU or encrypted PDU at offset {e}, found tag 0x{tag:02x}")
    return MessageV3(msg_id, max_size, flags, model, params, decode_scoped_pdu(data, e, end), None, security_offset=ps)


def _usual_v3_header(data: bytes, pos: int, end: int) -> tuple[int, int, int, int, int, int] | None:
    """_v3_header for the shape every agent sends (one-byte lengths, INTEGERs of 4 bytes at
    most), unrolled: a third of its cost, for each message. None for anything else, valid or
    not, which _v3_header then takes, errors and all."""
    try:
        if data[pos] != SEQUENCE or data[pos + 1] > 0x7F or data[pos + 2] != INTEGER or not 0 < (n := data[pos + 3]) <= 4:
            return None
        p = pos + 4 + n
        msg_id = int.from_bytes(data[pos + 4 : p], "big", signed=True)
        if data[p] != INTEGER or not 0 < (n := data[p + 1]) <= 4:
            return None
        max_size = int.from_bytes(data[p + 2 : p + 2 + n], "big", signed=True)
        p += 2 + n
        if data[p] != OCTET_STRING or data[p + 1] != 1 or data[p + 3] != INTEGER or not 0 < (n := data[p + 4]) <= 4:
            return None
        flags = data[p + 2]
        model = int.from_bytes(data[p + 5 : p + 5 + n], "big", signed=True)
        p += 5 + n
        n = data[p + 1]
    except IndexError:
        return None
    if p != pos + 2 + data[pos + 1] or data[p] != OCTET_STRING or n > 0x7F or p + 2 + n > end:
        return None
    return msg_id, max_size, flags, model, p + 2, p + 2 + n


def _v3_header(data: bytes, pos: int, end: int) -> tuple[int, int, int, int, int, int]:
    """(msgID, msgMaxSize, msgFlags, msgSecurityModel, start and end of msgSecurityParameters' content)."""
    s, e = expect(data, pos, end, SEQUENCE, "msgGlobalData")
    msg_id, p = read_int(data, s, e, "msgID")
    max_size, p = read_int(data, p, e, "msgMaxSize")
    fs, fe = expect(data, p, e, OCTET_STRING, "msgFlags")
    if fe - fs != 1:
        raise SnmpDecodeError(f"msgFlags at offset {p} has {fe - fs} bytes, not 1")
    flags = data[fs]
    model, p = read_int(data, fe, e, "msgSecurityModel")
    if p != e:
        raise SnmpDecodeError(f"stray bytes in msgGlobalData at offset {p}")
    ps, e = expect(data, e, end, OCTET_STRING, "msgSecurityParameters")
    return msg_id, max_size, flags, model, ps, e


def decode_scoped_pdu(data: bytes, pos: int, end: int) -> ScopedPdu:
    return _usual_scoped_pdu(data, pos, end) or _decode_scoped_pdu(data, pos, end)


def _usual_scoped_pdu(data: bytes, pos: int, end: int) -> ScopedPdu | None:
    """decode_scoped_pdu for the shape every agent sends (a length of at most two bytes, the
    context's of one), unrolled. None for anything else, which the generic decoder takes."""
    try:
        n = data[pos + 1]
        if data[pos] != SEQUENCE or not (n < 0x80 or n == 0x81 and data[pos + 2] >= 0x80 or n == 0x82 and data[pos + 2]):
            return None
        p = pos + 2 if n < 0x80 else pos + 3 if n == 0x81 else pos + 4
        stop = p + (n if n < 0x80 else data[pos + 2] if n == 0x81 else data[pos + 2] << 8 | data[pos + 3])
        if stop > end or data[p] != OCTET_STRING or (n := data[p + 1]) > 32:
            return None
        engine = data[p + 2 : p + 2 + n]
        p += 2 + n
        if data[p] != OCTET_STRING or (n := data[p + 1]) > 0x7F:
            return None
        name = data[p + 2 : p + 2 + n]
        p += 2 + n
    except IndexError:
        return None
    if p > stop:
        return None
    pdu, p = decode_pdu(data, p, stop)
    if p != stop:
        raise SnmpDecodeError(f"stray bytes in the ScopedPDU at offset {p}")
    return ScopedPdu(engine, name, pdu)


def _decode_scoped_pdu(data: bytes, pos: int, end: int) -> ScopedPdu:
    s, stop = expect(data, pos, end, SEQUENCE, "ScopedPDU")
    es, ee = expect(data, s, stop, OCTET_STRING, "contextEngineID")
    ns, ne = expect(data, ee, stop, OCTET_STRING, "contextName")
    pdu, p = decode_pdu(data, ne, stop)
    if p != stop:
        raise SnmpDecodeError(f"stray bytes in the ScopedPDU at offset {p}")
    return ScopedPdu(data[es:ee], data[ns:ne], pdu)
