"""Unit tests of the sans-io SNMP codec (eyenet.snmp.ber, eyenet.snmp.message).

Every byte vector here was worked out by hand from X.690 / RFC 1157 / RFC 3416
(the comments show the arithmetic), so a test failure points at the codec, not at
a second implementation. The differential tests against pysnmp live in
test_codec_differential.py, the hostile-input tests in test_codec_fuzz.py.
"""

import pytest

from eyenet.snmp.ber import decode_oid, encode_length, encode_oid, encode_value, tlv
from eyenet.snmp.errors import SnmpDecodeError, SnmpError
from eyenet.snmp.message import BulkPdu, Message, MessageV3, Pdu, PduType, ScopedPdu, TrapV1Pdu, Version, decode_message, encode_message
from eyenet.snmp.values import Tag, VarBind, format_oid, parse_oid

H = bytes.fromhex

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_DESCR_TLV = H("06 08 2b 06 01 02 01 01 01 00")  # 1.3 -> 40*1+3 = 0x2b


def v2c_response(*varbinds: VarBind, request_id: int = 1) -> Message:
    return Message(Version.V2C, b"public", Pdu(PduType.RESPONSE, request_id, 0, 0, tuple(varbinds)))


def message_with_value_tlv(value_tlv: bytes, oid_tlv: bytes = SYS_DESCR_TLV) -> bytes:
    """A v2c Response carrying one varbind whose value TLV is given raw (to test what agents send)."""
    vb = tlv(0x30, oid_tlv + value_tlv)
    pdu = tlv(0xA2, H("02 01 01 02 01 00 02 01 00") + tlv(0x30, vb))
    return tlv(0x30, H("02 01 01") + tlv(0x04, b"public") + pdu)


def decode_single_value(value_tlv: bytes) -> VarBind:
    msg = decode_message(message_with_value_tlv(value_tlv))
    (vb,) = msg.pdu.varbinds
    return vb


def roundtrip(msg):
    data = encode_message(msg)
    back = decode_message(data)
    assert back == msg
    assert encode_message(back) == data
    return data


# -- value vectors --------------------------------------------------------------

VALUE_VECTORS = [
    # INTEGER (Integer32): minimal two's complement
    (Tag.INTEGER, 0, "02 01 00"),
    (Tag.INTEGER, 1, "02 01 01"),
    (Tag.INTEGER, 127, "02 01 7f"),
    (Tag.INTEGER, 128, "02 02 00 80"),  # top bit set -> a leading 00
    (Tag.INTEGER, 255, "02 02 00 ff"),
    (Tag.INTEGER, 256, "02 02 01 00"),
    (Tag.INTEGER, 32767, "02 02 7f ff"),
    (Tag.INTEGER, 32768, "02 03 00 80 00"),
    (Tag.INTEGER, -1, "02 01 ff"),
    (Tag.INTEGER, -127, "02 01 81"),
    (Tag.INTEGER, -128, "02 01 80"),  # not ff 80 (X.690 8.3.2)
    (Tag.INTEGER, -129, "02 02 ff 7f"),
    (Tag.INTEGER, -256, "02 02 ff 00"),
    (Tag.INTEGER, -32768, "02 02 80 00"),
    (Tag.INTEGER, -32769, "02 03 ff 7f ff"),
    (Tag.INTEGER, 2**31 - 1, "02 04 7f ff ff ff"),
    (Tag.INTEGER, -(2**31), "02 04 80 00 00 00"),  # 4 bytes, not ff 80 00 00 00
    (Tag.INTEGER, -(2**31) + 1, "02 04 80 00 00 01"),
    # OCTET STRING, with short and long-form lengths
    (Tag.OCTET_STRING, b"", "04 00"),
    (Tag.OCTET_STRING, b"public", "04 06 70 75 62 6c 69 63"),
    (Tag.OCTET_STRING, b"\x00\xff", "04 02 00 ff"),
    (Tag.OCTET_STRING, b"a" * 127, "04 7f" + " 61" * 127),  # the largest short form
    (Tag.OCTET_STRING, b"b" * 128, "04 81 80" + " 62" * 128),
    (Tag.OCTET_STRING, b"c" * 255, "04 81 ff" + " 63" * 255),
    (Tag.OCTET_STRING, b"d" * 256, "04 82 01 00" + " 64" * 256),
    (Tag.OCTET_STRING, b"e" * 1500, "04 82 05 dc" + " 65" * 1500),
    (Tag.OCTET_STRING, b"f" * 65535, "04 82 ff ff" + " 66" * 65535),
    (Tag.OCTET_STRING, b"g" * 65536, "04 83 01 00 00" + " 67" * 65536),
    # NULL
    (Tag.NULL, None, "05 00"),
    # OBJECT IDENTIFIER
    (Tag.OBJECT_IDENTIFIER, SYS_DESCR, "06 08 2b 06 01 02 01 01 01 00"),
    (Tag.OBJECT_IDENTIFIER, (0, 0), "06 01 00"),
    (Tag.OBJECT_IDENTIFIER, (0, 39), "06 01 27"),
    (Tag.OBJECT_IDENTIFIER, (1, 0), "06 01 28"),
    (Tag.OBJECT_IDENTIFIER, (1, 39), "06 01 4f"),
    (Tag.OBJECT_IDENTIFIER, (2, 0), "06 01 50"),
    (Tag.OBJECT_IDENTIFIER, (2, 47), "06 01 7f"),  # 80 + 47 = 127, the last one-byte first arc
    (Tag.OBJECT_IDENTIFIER, (2, 48), "06 02 81 00"),  # 80 + 48 = 128
    (Tag.OBJECT_IDENTIFIER, (2, 100, 3), "06 03 81 34 03"),  # X.690 8.19.5 example: 180 = 1*128 + 0x34
    (Tag.OBJECT_IDENTIFIER, (2, 999, 3), "06 03 88 37 03"),  # 1079 = 8*128 + 0x37
    (Tag.OBJECT_IDENTIFIER, (2, 2**32 - 1 - 80), "06 05 8f ff ff ff 7f"),  # first subid = 2**32 - 1
    (Tag.OBJECT_IDENTIFIER, (1, 3, 127), "06 02 2b 7f"),
    (Tag.OBJECT_IDENTIFIER, (1, 3, 128), "06 03 2b 81 00"),
    (Tag.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 2021), "06 07 2b 06 01 04 01 8f 65"),  # 2021 = 15*128 + 101
    (Tag.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 9, 1, 1208), "06 09 2b 06 01 04 01 09 01 89 38"),  # 1208 = 9*128 + 56
    (Tag.OBJECT_IDENTIFIER, (1, 3, 16383), "06 03 2b ff 7f"),
    (Tag.OBJECT_IDENTIFIER, (1, 3, 16384), "06 04 2b 81 80 00"),
    (Tag.OBJECT_IDENTIFIER, (1, 3, 2**28 - 1), "06 05 2b ff ff ff 7f"),
    (Tag.OBJECT_IDENTIFIER, (1, 3, 2**28), "06 06 2b 81 80 80 80 00"),
    (Tag.OBJECT_IDENTIFIER, (1, 3, 4294967295), "06 06 2b 8f ff ff ff 7f"),
    (Tag.OBJECT_IDENTIFIER, (1, 3, 4294967295, 0, 4294967295), "06 0c 2b 8f ff ff ff 7f 00 8f ff ff ff 7f"),
    # IpAddress
    (Tag.IPADDRESS, b"\xc0\xa8\x01\x01", "40 04 c0 a8 01 01"),
    (Tag.IPADDRESS, b"\x00\x00\x00\x00", "40 04 00 00 00 00"),
    (Tag.IPADDRESS, b"\xff\xff\xff\xff", "40 04 ff ff ff ff"),
    # Counter32 / Gauge32 / TimeTicks: unsigned, a leading 00 when the top bit is set
    (Tag.COUNTER32, 0, "41 01 00"),
    (Tag.COUNTER32, 127, "41 01 7f"),
    (Tag.COUNTER32, 128, "41 02 00 80"),
    (Tag.COUNTER32, 2**31 - 1, "41 04 7f ff ff ff"),
    (Tag.COUNTER32, 2**31, "41 05 00 80 00 00 00"),
    (Tag.COUNTER32, 4294967295, "41 05 00 ff ff ff ff"),
    (Tag.GAUGE32, 0, "42 01 00"),
    (Tag.GAUGE32, 1000000000, "42 04 3b 9a ca 00"),
    (Tag.GAUGE32, 4294967295, "42 05 00 ff ff ff ff"),
    (Tag.TIMETICKS, 0, "43 01 00"),
    (Tag.TIMETICKS, 8640000, "43 04 00 83 d6 00"),  # one day: 0x83d600, top bit set -> 00
    (Tag.TIMETICKS, 4294967295, "43 05 00 ff ff ff ff"),
    # Opaque: an OCTET STRING with application tag 4
    (Tag.OPAQUE, b"", "44 00"),
    (Tag.OPAQUE, H("9f 78 04 3f 80 00 00"), "44 07 9f 78 04 3f 80 00 00"),  # net-snmp's opaque float 1.0
    (Tag.OPAQUE, b"z" * 200, "44 81 c8" + " 7a" * 200),
    # Counter64
    (Tag.COUNTER64, 0, "46 01 00"),
    (Tag.COUNTER64, 4294967296, "46 05 01 00 00 00 00"),
    (Tag.COUNTER64, 2**63 - 1, "46 08 7f ff ff ff ff ff ff ff"),
    (Tag.COUNTER64, 2**63, "46 09 00 80 00 00 00 00 00 00 00"),
    (Tag.COUNTER64, 2**64 - 1, "46 09 00 ff ff ff ff ff ff ff ff"),
    # the three SNMPv2 exceptions
    (Tag.NO_SUCH_OBJECT, None, "80 00"),
    (Tag.NO_SUCH_INSTANCE, None, "81 00"),
    (Tag.END_OF_MIB_VIEW, None, "82 00"),
]


def _vector_id(v):
    tag, value, _ = v
    shown = repr(value) if not isinstance(value, bytes) or len(value) < 12 else f"{len(value)}B"
    return f"{Tag(tag).name}-{shown}"


@pytest.mark.parametrize(("tag", "value", "hexbytes"), VALUE_VECTORS, ids=[_vector_id(v) for v in VALUE_VECTORS])
def test_value_vector(tag, value, hexbytes):
    expected = H(hexbytes)
    assert encode_value(tag, value) == expected
    # the same TLV inside a whole message: decode and re-encode
    vb = decode_single_value(expected)
    assert vb == VarBind(SYS_DESCR, tag, value)
    assert vb.tag == tag and type(vb.value) is type(value)
    data = message_with_value_tlv(expected)
    assert encode_message(decode_message(data)) == data


@pytest.mark.parametrize(("tag", "value", "hexbytes"), [v for v in VALUE_VECTORS if v[0] == Tag.OBJECT_IDENTIFIER])
def test_oid_as_varbind_name(tag, value, hexbytes):
    """The same OID vectors as the varbind *name* (the decoder has an inline fast path there)."""
    expected = H(hexbytes)
    assert tlv(Tag.OBJECT_IDENTIFIER, encode_oid(value)) == expected
    assert decode_oid(expected[2:]) == value
    msg = v2c_response(VarBind.null(value))
    data = roundtrip(msg)
    assert expected + H("05 00") in data


def test_oid_of_128_arcs_round_trips():
    for arcs in [(1, 3) + (1,) * 126, (1, 3) + (4294967295,) * 126, (2, 2**32 - 81) + (200,) * 126]:
        assert len(arcs) == 128
        assert decode_oid(encode_oid(arcs)) == arcs
        roundtrip(v2c_response(VarBind(arcs, Tag.OBJECT_IDENTIFIER, arcs)))


@pytest.mark.parametrize(
    "content",
    [
        "",  # empty OID
        "2b 86",  # ends inside a sub-identifier
        "2b 8f ff ff ff ff 7f",  # a sub-identifier past 32 bits
        "2b 90 80 80 80 00",  # 2**32 exactly
        "90 80 80 80 50",  # first subid 2**32 + 80: the 2.x arc would pass 32 bits
        "2b" + " 01" * 127,  # 129 arcs, all one-byte
        "2b" + " 81 00" * 127,  # 129 arcs, multi-byte
        "2b" + " 8f ff ff ff 7f" * 128,  # more content bytes than any 128-arc OID
    ],
)
def test_bad_oid_content_is_rejected(content):
    with pytest.raises(SnmpDecodeError):
        decode_oid(H(content))
    with pytest.raises(SnmpDecodeError):
        decode_message(message_with_value_tlv(tlv(0x06, H(content))))
    with pytest.raises(SnmpDecodeError):
        decode_message(message_with_value_tlv(H("05 00"), oid_tlv=tlv(0x06, H(content))))


# -- decoding leniency: what real agents send -------------------------------------


@pytest.mark.parametrize(
    ("raw", "tag", "value"),
    [
        # unsigned types sent without the leading zero (old agents, some switches)
        ("41 04 ff ff ff ff", Tag.COUNTER32, 4294967295),
        ("41 04 80 00 00 00", Tag.COUNTER32, 2**31),
        ("41 01 ff", Tag.COUNTER32, 255),
        ("42 04 ff ff ff fe", Tag.GAUGE32, 4294967294),
        ("43 04 ff ff ff ff", Tag.TIMETICKS, 4294967295),
        ("46 08 ff ff ff ff ff ff ff ff", Tag.COUNTER64, 2**64 - 1),
        ("46 08 80 00 00 00 00 00 00 00", Tag.COUNTER64, 2**63),
        # redundant leading zeros / sign bytes
        ("41 06 00 00 00 00 00 2a", Tag.COUNTER32, 42),
        ("02 02 00 05", Tag.INTEGER, 5),
        ("02 02 ff ff", Tag.INTEGER, -1),
        ("02 05 ff 80 00 00 00", Tag.INTEGER, -(2**31)),  # what pyasn1 and older EyeNet emit
        # long-form lengths where a short form would do
        ("02 81 01 05", Tag.INTEGER, 5),
        ("04 81 05 68 65 6c 6c 6f", Tag.OCTET_STRING, b"hello"),
        ("04 82 00 05 68 65 6c 6c 6f", Tag.OCTET_STRING, b"hello"),
        ("04 84 00 00 00 05 68 65 6c 6c 6f", Tag.OCTET_STRING, b"hello"),
        ("04 81 00", Tag.OCTET_STRING, b""),
        ("05 81 00", Tag.NULL, None),
        ("40 81 04 0a 00 00 01", Tag.IPADDRESS, b"\x0a\x00\x00\x01"),
        ("06 81 03 2b 06 01", Tag.OBJECT_IDENTIFIER, (1, 3, 6, 1)),
        ("82 81 00", Tag.END_OF_MIB_VIEW, None),
        # sub-identifiers with redundant 0x80 padding (X.690 forbids, some agents send)
        ("06 04 2b 80 80 01", Tag.OBJECT_IDENTIFIER, (1, 3, 1)),
    ],
)
def test_decoding_leniency(raw, tag, value):
    assert decode_single_value(H(raw)) == VarBind(SYS_DESCR, tag, value)


def test_long_form_lengths_on_every_level():
    """A message with every length in the long form (0x81 n / 0x82 0 n) decodes like the short one."""
    msg = decode_message(
        H(
            "30 82 00 2f"  # 4 + 9 + 34 = 47
            "  02 81 01 01"
            "  04 81 06 70 75 62 6c 69 63"
            "  a2 81 1f"  # 12 + 19 = 31
            "    02 81 01 07 02 81 01 00 02 81 01 00"
            "    30 81 10"
            "      30 81 0d"
            "        06 08 2b 06 01 02 01 01 03 00"
            "        43 01 2a"
        )
    )
    assert msg == v2c_response(VarBind((1, 3, 6, 1, 2, 1, 1, 3, 0), Tag.TIMETICKS, 42), request_id=7)


def test_long_form_varbind_name_length():
    vb = decode_single_value(H("05 00"))
    assert vb.oid == SYS_DESCR
    msg = decode_message(message_with_value_tlv(H("05 00"), oid_tlv=H("06 81 08 2b 06 01 02 01 01 01 00")))
    assert msg.pdu.varbinds == (VarBind.null(SYS_DESCR),)


@pytest.mark.parametrize(
    "raw",
    [
        "41 05 01 00 00 00 00",  # Counter32 2**32
        "42 05 01 00 00 00 00",
        "43 05 01 00 00 00 00",
        "46 09 01 00 00 00 00 00 00 00 00",  # Counter64 2**64
        "46 0a 00 00 ff ff ff ff ff ff ff ff",  # 10 content bytes
        "41 00",  # empty unsigned
        "02 00",  # empty INTEGER
        "02 0a 00 00 00 00 00 00 00 00 00 01",  # INTEGER of 10 bytes
        "40 03 0a 00 01",  # IpAddress of 3 bytes
        "40 05 0a 00 00 01 00",
        "05 01 00",  # NULL with content
        "80 01 00",
        "81 01 00",
        "82 01 00",
        "06 00",  # empty OID
        "45 01 00",  # unknown application tag
        "47 01 00",
        "83 00",  # unknown context tag
        "24 00",  # constructed OCTET STRING
        "1f 01 00",  # multi-byte tag
        "04 80 00 00",  # indefinite length
        "04 85 00 00 00 00 05",  # 5-byte length
    ],
)
def test_bad_values_are_rejected(raw):
    with pytest.raises(SnmpDecodeError):
        decode_single_value(H(raw))


def test_value_must_end_where_its_varbind_ends():
    vb = tlv(0x30, SYS_DESCR_TLV + H("05 00") + H("05 00"))  # two values in one VarBind
    pdu = tlv(0xA2, H("02 01 01 02 01 00 02 01 00") + tlv(0x30, vb))
    with pytest.raises(SnmpDecodeError):
        decode_message(tlv(0x30, H("02 01 01") + tlv(0x04, b"public") + pdu))


# -- PDUs and messages ------------------------------------------------------------

GET_SYSDESCR_V2C = H(
    "30 26"  # 3 + 8 + 27 = 38
    "  02 01 01"  # version 2c
    "  04 06 70 75 62 6c 69 63"  # "public"
    "  a0 19"  # GetRequest, 3 + 3 + 3 + 16 = 25
    "    02 01 01 02 01 00 02 01 00"  # request-id 1, error-status 0, error-index 0
    "    30 0e 30 0c 06 08 2b 06 01 02 01 01 01 00 05 00"
)


def test_get_request_vector():
    msg = Message(Version.V2C, b"public", Pdu(PduType.GET, 1, 0, 0, (VarBind.null(SYS_DESCR),)))
    assert encode_message(msg) == GET_SYSDESCR_V2C
    assert decode_message(GET_SYSDESCR_V2C) == msg


@pytest.mark.parametrize("pdu_type", [t for t in PduType if t not in (PduType.GET_BULK, PduType.TRAP_V1)])
@pytest.mark.parametrize("version", [Version.V1, Version.V2C])
def test_plain_pdu_vectors(pdu_type, version):
    v2_only = pdu_type in (PduType.INFORM, PduType.TRAP_V2, PduType.REPORT)
    msg = Message(version, b"private", Pdu(pdu_type, 0x1234, 0, 0, (VarBind(SYS_DESCR, Tag.INTEGER, -1),)))
    expected = H(
        f"30 29 02 01 0{version:d} 04 07 70 72 69 76 61 74 65"  # 3 + 9 + 29 = 41
        f" {pdu_type:02x} 1b 02 02 12 34 02 01 00 02 01 00"  # 4 + 3 + 3 + 17 = 27
        "  30 0f 30 0d 06 08 2b 06 01 02 01 01 01 00 02 01 ff"
    )
    data = encode_message(msg)
    assert data == expected
    if version == Version.V1 and v2_only:
        with pytest.raises(SnmpDecodeError, match="not defined in SNMPv1"):
            decode_message(data)
    else:
        assert decode_message(data) == msg


def test_response_with_error_status():
    msg = Message(
        Version.V1,
        b"public",
        Pdu(PduType.RESPONSE, 2**31 - 1, 2, 1, (VarBind.null(SYS_DESCR), VarBind.null((1, 3, 6, 1, 2, 1, 1, 2, 0)))),
    )
    data = roundtrip(msg)
    assert H("a2 2a 02 04 7f ff ff ff 02 01 02 02 01 01 30 1c") in data


def test_get_bulk_vector():
    msg = Message(Version.V2C, b"public", BulkPdu(-5, 1, 25, (VarBind.null((1, 3, 6, 1, 2, 1, 2, 2, 1)),)))
    expected = H(
        "30 26 02 01 01 04 06 70 75 62 6c 69 63"  # 3 + 8 + 27 = 38
        "  a5 19 02 01 fb 02 01 01 02 01 19"  # request-id -5, non-repeaters 1, max-repetitions 25
        "    30 0e 30 0c 06 08 2b 06 01 02 01 02 02 01 05 00"
    )
    assert encode_message(msg) == expected
    assert decode_message(expected) == msg
    assert decode_message(expected).pdu.type == PduType.GET_BULK


def test_v1_trap_vector():
    pdu = TrapV1Pdu(
        enterprise=(1, 3, 6, 1, 4, 1, 8072, 3, 2, 10),
        agent_addr=b"\xc0\x00\x02\x01",
        generic_trap=6,
        specific_trap=17,
        timestamp=4294967295,
        varbinds=(VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 3), Tag.INTEGER, 3),),
    )
    msg = Message(Version.V1, b"public", pdu)
    expected = H(
        "30 3f 02 01 00 04 06 70 75 62 6c 69 63"  # 3 + 8 + 52 = 63
        "  a4 32"  # 12 + 6 + 3 + 3 + 7 + 19 = 50
        "    06 0a 2b 06 01 04 01 bf 08 03 02 0a"  # 8072 = 63*128 + 8
        "    40 04 c0 00 02 01"
        "    02 01 06 02 01 11"
        "    43 05 00 ff ff ff ff"
        "    30 11 30 0f 06 0a 2b 06 01 02 01 02 02 01 01 03 02 01 03"
    )
    assert encode_message(msg) == expected
    assert decode_message(expected) == msg


def v1_trap_bytes(enterprise=H("06 02 2b 06"), agent=H("40 04 7f 00 00 01"), timestamp=H("43 01 64")) -> bytes:
    pdu = tlv(0xA4, enterprise + agent + H("02 01 00 02 01 00") + timestamp + H("30 00"))
    return tlv(0x30, H("02 01 00 04 01 63") + pdu)


def test_v1_trap_leniency_and_errors():
    assert v1_trap_bytes() == encode_message(
        Message(Version.V1, b"c", TrapV1Pdu((1, 3, 6), b"\x7f\x00\x00\x01", 0, 0, 100))
    )
    assert decode_message(v1_trap_bytes()).pdu.timestamp == 100
    # a time-stamp of ff ff ff ff (no leading zero) is 4294967295, not -1
    assert decode_message(v1_trap_bytes(timestamp=H("43 04 ff ff ff ff"))).pdu.timestamp == 4294967295
    assert decode_message(v1_trap_bytes(timestamp=H("43 81 01 07"))).pdu.timestamp == 7
    for bad in [
        v1_trap_bytes(enterprise=H("04 02 2b 06")),  # enterprise is not an OID
        v1_trap_bytes(enterprise=H("06 00")),
        v1_trap_bytes(agent=H("04 04 7f 00 00 01")),  # agent-addr is not an IpAddress
        v1_trap_bytes(agent=H("40 06 00 00 7f 00 00 01")),  # an IPv6-ish agent-addr
        v1_trap_bytes(timestamp=H("02 01 64")),  # time-stamp is not TimeTicks
        v1_trap_bytes(timestamp=H("43 00")),
        v1_trap_bytes(timestamp=H("43 06 00 00 00 00 00 01")),
    ]:
        with pytest.raises(SnmpDecodeError):
            decode_message(bad)


@pytest.mark.parametrize("pdu_type", [PduType.GET_BULK, PduType.INFORM, PduType.TRAP_V2, PduType.REPORT])
def test_v1_rejects_v2_only_pdus(pdu_type):
    vbs = (VarBind.null(SYS_DESCR),)
    pdu = BulkPdu(1, 0, 10, vbs) if pdu_type == PduType.GET_BULK else Pdu(pdu_type, 1, 0, 0, vbs)
    data = encode_message(Message(Version.V2C, b"public", pdu))
    assert decode_message(data).pdu == pdu
    as_v1 = data.replace(H("02 01 01"), H("02 01 00"), 1)
    with pytest.raises(SnmpDecodeError, match="not defined in SNMPv1"):
        decode_message(as_v1)


def test_every_pdu_type_round_trips_with_every_value_type():
    all_values = tuple(VarBind(SYS_DESCR[:-1] + (i,), tag, value) for i, (tag, value, _) in enumerate(VALUE_VECTORS))
    pdus = [Pdu(t, i, i % 19, i, all_values) for i, t in enumerate(PduType) if t not in (PduType.GET_BULK, PduType.TRAP_V1)]
    pdus.append(BulkPdu(99, 2, 50, all_values))
    v1_values = tuple(vb for vb in all_values if vb.tag < Tag.COUNTER64)  # RFC 1155 has no Counter64, no exceptions
    pdus.append(TrapV1Pdu((1, 3, 6, 1, 4, 1, 9), b"\x01\x02\x03\x04", 6, 2**31 - 1, 0, v1_values))
    for pdu in pdus:
        version = Version.V1 if pdu.type == PduType.TRAP_V1 else Version.V2C
        msg = Message(version, b"community \x00\xff", pdu)
        data = roundtrip(msg)
        assert data[:2] == H("30 83")  # the 65536-byte string forces a 3-byte length


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("", "truncated"),
        ("30", "truncated"),
        ("31 00", "expected message SEQUENCE"),
        ("30 03 02 01 02 ", "version"),  # version 2 does not exist
        ("30 03 02 01 04", "version"),
        ("30 05 04 01 00 02 01", "expected version"),
        ("30 03 02 01 01", "truncated"),  # no community
        ("30 08 02 01 01 04 03 61 62 63", "truncated"),  # no PDU
        ("30 0a 02 01 01 04 03 61 62 63 a9 00", "unknown PDU type"),
        ("30 0a 02 01 01 04 03 61 62 63 a0 00", "truncated"),
        ("30 0d 02 01 01 04 03 61 62 63 a0 03 02 01 01", "truncated"),
    ],
)
def test_malformed_messages(data, match):
    with pytest.raises(SnmpDecodeError, match=match):
        decode_message(H(data))


def test_trailing_and_stray_bytes_are_rejected():
    with pytest.raises(SnmpDecodeError, match="trailing"):
        decode_message(GET_SYSDESCR_V2C + b"\x00")
    # a byte after the PDU, inside the message SEQUENCE
    stray = H("30 27") + GET_SYSDESCR_V2C[2:] + b"\x00"
    with pytest.raises(SnmpDecodeError, match="stray"):
        decode_message(stray)
    # a byte after the varbind list, inside the PDU
    stray = H("30 27 02 01 01 04 06 70 75 62 6c 69 63 a0 1a") + GET_SYSDESCR_V2C[15:] + b"\x00"
    with pytest.raises(SnmpDecodeError, match="stray"):
        decode_message(stray)


def test_decode_accepts_bytearray_and_memoryview():
    assert decode_message(bytearray(GET_SYSDESCR_V2C)) == decode_message(GET_SYSDESCR_V2C)
    assert decode_message(memoryview(GET_SYSDESCR_V2C)) == decode_message(GET_SYSDESCR_V2C)


def test_empty_varbind_list_and_empty_community():
    msg = Message(Version.V2C, b"", Pdu(PduType.GET, 0))
    assert encode_message(msg) == H("30 12 02 01 01 04 00 a0 0b 02 01 00 02 01 00 02 01 00 30 00")
    roundtrip(msg)


def test_many_varbinds_long_form_list():
    vbs = tuple(VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, i), Tag.COUNTER32, 2**32 - i) for i in range(1, 200))
    data = roundtrip(v2c_response(*vbs))
    assert len(data) > 3000


# -- SNMPv3 framing ---------------------------------------------------------------

def v3_header(flags: int) -> str:
    return (
        "02 01 03"  # msgVersion 3
        "30 11"  # msgGlobalData, 6 + 5 + 3 + 3 = 17
        "  02 04 12 34 56 78"  # msgID
        "  02 03 00 ff e3"  # msgMaxSize 65507
        f"  04 01 {flags:02x}"  # msgFlags
        "  02 01 03"  # msgSecurityModel: USM
    )


def test_v3_plaintext_scoped_pdu_vector():
    params = H("30 0e 04 00 02 01 00 02 01 00 04 00 04 00 04 00")  # an empty UsmSecurityParameters
    msg = MessageV3(
        msg_id=0x12345678,
        max_size=65507,
        flags=0x04,
        security_model=3,
        security_parameters=params,
        scoped_pdu=ScopedPdu(b"\x80\x00\x1f\x88\x04", b"ctx", Pdu(PduType.GET, 7)),
    )
    expected = H(
        "30 43"  # 3 + 19 + 18 + 27 = 67
        + v3_header(0x04)  # reportable
        + "04 10 30 0e 04 00 02 01 00 02 01 00 04 00 04 00 04 00"
        + "30 19"  # ScopedPDU
        "  04 05 80 00 1f 88 04"
        "  04 03 63 74 78"
        "  a0 0b 02 01 07 02 01 00 02 01 00 30 00"
    )
    assert encode_message(msg) == expected
    assert decode_message(expected) == msg


def test_v3_encrypted_pdu_vector():
    msg = MessageV3(0x12345678, 65507, 0x07, 3, b"usm", encrypted_pdu=bytes(range(200)))
    # 3 + 19 + 5 + 203 = 230; flags 07: auth, priv, reportable
    expected = H("30 81 e6" + v3_header(0x07) + "04 03 75 73 6d" + "04 81 c8") + bytes(range(200))
    assert encode_message(msg) == expected
    back = decode_message(expected)
    assert back == msg
    assert back.scoped_pdu is None and back.encrypted_pdu == bytes(range(200))


@pytest.mark.parametrize(
    "pdu",
    [
        Pdu(PduType.REPORT, 0, 0, 0, (VarBind((1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0), Tag.COUNTER32, 1),)),
        BulkPdu(1, 0, 10, (VarBind.null((1, 3, 6)),)),
        Pdu(PduType.TRAP_V2, 2**31 - 1),
        Pdu(PduType.INFORM, -(2**31)),
    ],
)
def test_v3_round_trips(pdu):
    roundtrip(MessageV3(1, 1500, 0, 3, b"", ScopedPdu(b"", b"", pdu)))
    roundtrip(MessageV3(2**31 - 1, 2**31 - 1, 0xFF, 2**31 - 1, b"x" * 300, ScopedPdu(b"e" * 32, b"n" * 200, pdu)))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("30 0b 02 01 01 02 01 00 04 00 02 01 03 04 00 04 00", "msgFlags"),  # empty flags
        ("30 0d 02 01 01 02 01 00 04 02 00 00 02 01 03 04 00 04 00", "msgFlags"),  # two flag bytes
        ("30 0f 02 01 01 02 01 00 04 01 00 02 01 03 05 00 04 00 04 00", "stray"),  # extra in msgGlobalData
        ("30 0c 02 01 01 02 01 00 04 01 00 02 01 03 02 01 00 04 00", "msgSecurityParameters"),
        ("30 0c 02 01 01 02 01 00 04 01 00 02 01 03 04 00 a0 00", "ScopedPDU or encrypted"),
        ("30 0c 02 01 01 02 01 00 04 01 00 02 01 03 04 00 04 00 04 00", "stray"),
        ("30 0c 02 01 01 02 01 00 04 01 00 02 01 03 04 00 30 00", "truncated"),  # empty ScopedPDU
        ("31 0c 02 01 01 02 01 00 04 01 00 02 01 03 04 00 04 00", "msgGlobalData"),
    ],
)
def test_v3_malformed(body, match):
    content = H("02 01 03" + body)
    with pytest.raises(SnmpDecodeError, match=match):
        decode_message(tlv(0x30, content))


def test_v3_scoped_pdu_with_stray_bytes():
    sp = tlv(0x30, H("04 00 04 00 a0 0b 02 01 07 02 01 00 02 01 00 30 00 05 00"))
    data = tlv(0x30, H("02 01 03 30 0c 02 01 01 02 01 00 04 01 00 02 01 03 04 00") + sp)
    with pytest.raises(SnmpDecodeError, match="stray"):
        decode_message(data)


# -- lengths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "hexbytes"),
    [
        (0, "00"),
        (127, "7f"),
        (128, "81 80"),
        (255, "81 ff"),
        (256, "82 01 00"),
        (65535, "82 ff ff"),
        (65536, "83 01 00 00"),
        (2**24, "84 01 00 00 00"),
    ],
)
def test_encode_length(n, hexbytes):
    assert encode_length(n) == H(hexbytes)


# -- parse_oid / format_oid ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "oid"),
    [
        ("1.3.6.1.2.1.1.1.0", SYS_DESCR),
        (".1.3.6.1.2.1.1.1.0", SYS_DESCR),
        ("  1.3.6.1.2.1.1.1.0\n", SYS_DESCR),
        ("0.0", (0, 0)),
        ("1.39", (1, 39)),
        ("2.999.3", (2, 999, 3)),
        ("1.3.4294967295", (1, 3, 4294967295)),
        (".".join(["1", "3"] + ["7"] * 126), (1, 3) + (7,) * 126),
    ],
)
def test_parse_oid(text, oid):
    assert parse_oid(text) == oid
    assert parse_oid(format_oid(oid)) == oid


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "1.",
        "1..3",
        "1.3.6.x",
        "iso.3.6",
        "1.3.6.1 2",
        "3.1",  # first arc is 0, 1 or 2
        "1.40",  # under 0 and 1, the second arc is below 40
        "0.40",
        "1.3.-1",
        "1.3.4294967296",
        ".".join(["1", "3"] + ["7"] * 127),  # 129 arcs
    ],
)
def test_parse_oid_errors(text):
    with pytest.raises(SnmpError, match="bad OID"):
        parse_oid(text)


@pytest.mark.parametrize("text", ["1", ".1", "0", "2"])
def test_parse_oid_takes_one_arc_for_a_whole_tree(text):
    # A walk root, as net-snmp's tools take it; requests need two arcs (see the client).
    assert parse_oid(text) == (int(text.lstrip(".")),)


def test_format_oid():
    assert format_oid(SYS_DESCR) == "1.3.6.1.2.1.1.1.0"
    assert format_oid((2, 4294967295)) == "2.4294967295"
    assert format_oid(()) == ""


# -- encoder argument checks ------------------------------------------------------


def test_encoder_rejects_what_cannot_be_encoded():
    with pytest.raises(ValueError):
        encode_value(Tag.COUNTER32, -1)
    with pytest.raises(ValueError):
        encode_value(0x45, 0)
    with pytest.raises(ValueError):
        encode_oid((1,))
    with pytest.raises(ValueError):
        encode_oid((1, 3, -1))


def test_varbind_memo_gives_what_parsing_gives_and_stays_bounded(monkeypatch):
    """Small values are memoised by their varbind's bytes (an answer repeats them poll after
    poll); a hit is the varbind parsing would give, larger values are not kept, and a full
    memo starts over."""
    from eyenet.snmp import ber

    monkeypatch.setattr(ber, "_VARBINDS", {})
    monkeypatch.setattr(ber, "VARBIND_MEMO_SIZE", 3)
    status = VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 7), Tag.INTEGER, 1)
    counter = VarBind((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 7), Tag.COUNTER64, 123456789)
    empty = VarBind((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18, 7), Tag.OCTET_STRING, b"")
    data = encode_message(v2c_response(status, counter, empty))
    first = decode_message(data).pdu.varbinds
    again = decode_message(data).pdu.varbinds
    assert first == again == (status, counter, empty)
    assert again[0] is first[0] and again[2] is first[2]  # from the memo
    assert again[1] is not first[1] and len(ber._VARBINDS) == 2  # 5 content bytes: parsed each time
    for i in range(3):  # fills it: cleared, then holds the newest
        decode_message(encode_message(v2c_response(VarBind((1, 3, 6, 1, 4, 1, 9, i), Tag.GAUGE32, i))))
    assert len(ber._VARBINDS) <= 3
    assert decode_message(data).pdu.varbinds == (status, counter, empty)
