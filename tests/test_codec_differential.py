"""Differential tests: EyeNet's SNMP codec against pysnmp/pyasn1, the reference.

Hypothesis generates whole messages (v1 and v2c, every PDU type, varbind lists of
every value type, random OIDs, plus v3 framing); for each one:

  (a) EyeNet encodes, pyasn1 decodes (with the pysnmp message spec): same message;
  (b) pyasn1 encodes (pysnmp Message objects), EyeNet decodes: same message;
  (c) both encoders produce the same bytes.

Both sides aim at minimal (DER-like) encodings. The one place they legitimately
differ is documented in test_pyasn1_pads_negative_powers_of_two and handled, for
exactly those values, in test_same_bytes_as_pyasn1.
"""

import attrs
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import api, rfc1155, rfc1902, rfc1905
from pysnmp.proto.api import v1, v2c
from pysnmp.proto.mpmod import rfc3412

from eyenet.snmp.message import BulkPdu, Message, MessageV3, Pdu, PduType, ScopedPdu, TrapV1Pdu, Version, decode_message, encode_message
from eyenet.snmp.values import Tag, VarBind

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# -- the converter between EyeNet values and pysnmp types -------------------------


def _null(_value):
    return univ.Null("")


TO_PYSNMP = {
    Version.V2C: {
        Tag.INTEGER: rfc1902.Integer32,
        Tag.OCTET_STRING: rfc1902.OctetString,
        Tag.NULL: _null,
        Tag.OBJECT_IDENTIFIER: rfc1902.ObjectIdentifier,
        Tag.IPADDRESS: rfc1902.IpAddress,
        Tag.COUNTER32: rfc1902.Counter32,
        Tag.GAUGE32: rfc1902.Gauge32,
        Tag.TIMETICKS: rfc1902.TimeTicks,
        Tag.OPAQUE: rfc1902.Opaque,
        Tag.COUNTER64: rfc1902.Counter64,
        Tag.NO_SUCH_OBJECT: lambda _: rfc1905.NoSuchObject(""),
        Tag.NO_SUCH_INSTANCE: lambda _: rfc1905.NoSuchInstance(""),
        Tag.END_OF_MIB_VIEW: lambda _: rfc1905.EndOfMibView(""),
    },
    # RFC 1155 ObjectSyntax: no Counter64, no exceptions
    Version.V1: {
        Tag.INTEGER: univ.Integer,
        Tag.OCTET_STRING: univ.OctetString,
        Tag.NULL: _null,
        Tag.OBJECT_IDENTIFIER: univ.ObjectIdentifier,
        Tag.IPADDRESS: rfc1155.IpAddress,
        Tag.COUNTER32: rfc1155.Counter,
        Tag.GAUGE32: rfc1155.Gauge,
        Tag.TIMETICKS: rfc1155.TimeTicks,
        Tag.OPAQUE: rfc1155.Opaque,
    },
}
TO_PYSNMP[Version.V3] = TO_PYSNMP[Version.V2C]

_INT_TAGS = {Tag.INTEGER, Tag.COUNTER32, Tag.GAUGE32, Tag.TIMETICKS, Tag.COUNTER64}
_BYTES_TAGS = {Tag.OCTET_STRING, Tag.IPADDRESS, Tag.OPAQUE}
_EMPTY_TAGS = {Tag.NULL, Tag.NO_SUCH_OBJECT, Tag.NO_SUCH_INSTANCE, Tag.END_OF_MIB_VIEW}


def ber_tag(asn1) -> int:
    """The one-byte BER tag a pyasn1 object encodes with (the outermost, for implicit tagging)."""
    t = asn1.tagSet[-1]
    return t.tagClass | t.tagFormat | t.tagId


def to_pysnmp(version: Version, tag: int, value):
    return TO_PYSNMP[version][tag](value)


def from_pysnmp(asn1) -> tuple[int, object]:
    """A decoded pyasn1 value -> (tag, EyeNet value)."""
    tag = ber_tag(asn1)
    if tag in _INT_TAGS:
        return tag, int(asn1)
    if tag in _BYTES_TAGS:
        return tag, asn1.asOctets()
    if tag == Tag.OBJECT_IDENTIFIER:
        return tag, tuple(asn1)
    if tag in _EMPTY_TAGS:
        return tag, None
    raise AssertionError(f"pysnmp returned a value with tag 0x{tag:02x}: {asn1!r}")


PDU_CLASSES = {
    Version.V1: {
        PduType.GET: v1.GetRequestPDU,
        PduType.GET_NEXT: v1.GetNextRequestPDU,
        PduType.RESPONSE: v1.GetResponsePDU,
        PduType.SET: v1.SetRequestPDU,
        PduType.TRAP_V1: v1.TrapPDU,
    },
    Version.V2C: {
        PduType.GET: v2c.GetRequestPDU,
        PduType.GET_NEXT: v2c.GetNextRequestPDU,
        PduType.RESPONSE: v2c.ResponsePDU,
        PduType.SET: v2c.SetRequestPDU,
        PduType.GET_BULK: v2c.GetBulkRequestPDU,
        PduType.INFORM: v2c.InformRequestPDU,
        PduType.TRAP_V2: v2c.SNMPv2TrapPDU,
        PduType.REPORT: v2c.ReportPDU,
    },
}
PDU_CLASSES[Version.V3] = PDU_CLASSES[Version.V2C]
API = {Version.V1: v1, Version.V2C: v2c, Version.V3: v2c}


def pysnmp_pdu(version: Version, pdu):
    """An EyeNet PDU -> the pysnmp PDU object."""
    mod = API[version]
    p = PDU_CLASSES[version][pdu.type]()
    if isinstance(pdu, TrapV1Pdu):
        p.setComponentByPosition(0, univ.ObjectIdentifier(pdu.enterprise))
        p.setComponentByPosition(1, rfc1155.NetworkAddress().setComponentByPosition(0, rfc1155.IpAddress(pdu.agent_addr)))
        p.setComponentByPosition(2, pdu.generic_trap)
        p.setComponentByPosition(3, pdu.specific_trap)
        p.setComponentByPosition(4, pdu.timestamp)
        api_pdu = mod.apiTrapPDU
    elif isinstance(pdu, BulkPdu):
        mod.apiBulkPDU.set_request_id(p, pdu.request_id)
        mod.apiBulkPDU.set_non_repeaters(p, pdu.non_repeaters)
        mod.apiBulkPDU.set_max_repetitions(p, pdu.max_repetitions)
        api_pdu = mod.apiBulkPDU
    else:
        mod.apiPDU.set_request_id(p, pdu.request_id)
        mod.apiPDU.set_error_status(p, pdu.error_status)
        mod.apiPDU.set_error_index(p, pdu.error_index)
        api_pdu = mod.apiPDU
    api_pdu.set_varbinds(p, [(univ.ObjectIdentifier(vb.oid), to_pysnmp(version, vb.tag, vb.value)) for vb in pdu.varbinds])
    return p


def pysnmp_encode(msg: Message | MessageV3) -> bytes:
    """Build the pysnmp/pyasn1 Message for an EyeNet message and BER-encode it with pyasn1."""
    if isinstance(msg, MessageV3):
        m = rfc3412.SNMPv3Message()
        m["msgVersion"] = 3
        g = m["msgGlobalData"]
        g["msgID"] = msg.msg_id
        g["msgMaxSize"] = msg.max_size
        g["msgFlags"] = bytes((msg.flags,))
        g["msgSecurityModel"] = msg.security_model
        m["msgSecurityParameters"] = msg.security_parameters
        if msg.scoped_pdu is None:
            m["msgData"]["encryptedPDU"] = msg.encrypted_pdu
        else:
            sp = m["msgData"]["plaintext"]
            sp["contextEngineId"] = msg.scoped_pdu.context_engine_id
            sp["contextName"] = msg.scoped_pdu.context_name
            pdu = pysnmp_pdu(Version.V3, msg.scoped_pdu.pdu)
            sp["data"].setComponentByType(pdu.tagSet, pdu, innerFlag=True)
        return encoder.encode(m)
    mod = API[msg.version]
    m = mod.Message()
    mod.apiMessage.set_version(m, int(msg.version))
    mod.apiMessage.set_community(m, msg.community)
    mod.apiMessage.set_pdu(m, pysnmp_pdu(msg.version, msg.pdu))
    return encoder.encode(m)


def eyenet_pdu_from_pysnmp(p):
    """A decoded pysnmp PDU object -> the EyeNet PDU, every field read back from pyasn1."""
    kind = PduType(ber_tag(p))
    vbs = []
    for vb in p.getComponentByPosition(len(p) - 1):  # the VarBindList is the last component
        oid, value = v2c.apiVarBind.get_oid_value(vb)  # the innermost CHOICE alternative
        vbs.append(VarBind(tuple(oid), *from_pysnmp(value)))
    if kind == PduType.TRAP_V1:
        addr = p["agent-addr"].getComponent()
        assert ber_tag(addr) == Tag.IPADDRESS
        return TrapV1Pdu(
            tuple(p["enterprise"]),
            addr.asOctets(),
            int(p["generic-trap"]),
            int(p["specific-trap"]),
            int(p["time-stamp"]),
            tuple(vbs),
        )
    if kind == PduType.GET_BULK:
        return BulkPdu(int(p["request-id"]), int(p["non-repeaters"]), int(p["max-repetitions"]), tuple(vbs))
    return Pdu(kind, int(p["request-id"]), int(p["error-status"]), int(p["error-index"]), tuple(vbs))


def pysnmp_decode(data: bytes) -> Message | MessageV3:
    """Decode with pyasn1 against the pysnmp message spec; return the EyeNet model of what it read."""
    version = int(api.decodeMessageVersion(data))
    if version == 3:
        m, rest = decoder.decode(data, asn1Spec=rfc3412.SNMPv3Message())
        assert rest == b""
        g = m["msgGlobalData"]
        flags = g["msgFlags"].asOctets()
        assert len(flags) == 1
        data_choice = m["msgData"]
        if data_choice.getName() == "encryptedPDU":
            scoped, encrypted = None, data_choice["encryptedPDU"].asOctets()
        else:
            sp = data_choice["plaintext"]
            scoped = ScopedPdu(
                sp["contextEngineId"].asOctets(),
                sp["contextName"].asOctets(),
                eyenet_pdu_from_pysnmp(sp["data"].getComponent()),
            )
            encrypted = None
        return MessageV3(
            int(g["msgID"]),
            int(g["msgMaxSize"]),
            flags[0],
            int(g["msgSecurityModel"]),
            m["msgSecurityParameters"].asOctets(),
            scoped,
            encrypted,
        )
    mod = api.PROTOCOL_MODULES[version]
    m, rest = decoder.decode(data, asn1Spec=mod.Message())
    assert rest == b""
    return Message(
        Version(int(mod.apiMessage.get_version(m))),
        mod.apiMessage.get_community(m).asOctets(),
        eyenet_pdu_from_pysnmp(mod.apiMessage.get_pdu(m)),
    )


# -- strategies -----------------------------------------------------------------

INT32_EDGES = [-(2**31), -(2**31) + 1, -8388608, -32769, -32768, -129, -128, -127, -1, 0, 1, 127, 128, 255, 256]
INT32_EDGES += [32767, 32768, 2**31 - 1]
UINT32_EDGES = [0, 1, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 2**24, 2**31 - 1, 2**31, 2**32 - 2, 2**32 - 1]
UINT64_EDGES = UINT32_EDGES + [2**32, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
ARC_EDGES = [0, 1, 39, 40, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**31, 2**32 - 1]


def edgy(lo: int, hi: int, edges) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([e for e in edges if lo <= e <= hi]), st.integers(lo, hi))


int32 = edgy(-(2**31), 2**31 - 1, INT32_EDGES)
uint31 = edgy(0, 2**31 - 1, UINT32_EDGES)
uint32 = edgy(0, 2**32 - 1, UINT32_EDGES)
uint64 = edgy(0, 2**64 - 1, UINT64_EDGES)
arcs = st.one_of(st.integers(0, 127), st.integers(0, 16383), st.integers(0, 2**32 - 1), st.sampled_from(ARC_EDGES))
first_arcs = st.one_of(
    st.just((1, 3)),
    st.tuples(st.integers(0, 1), st.integers(0, 39)),
    st.tuples(st.just(2), st.integers(0, 47)),
    st.tuples(st.just(2), edgy(48, 2**32 - 1 - 80, [48, 127, 128, 999, 16383, 2**32 - 81])),  # first subid <= 2**32 - 1
)
oids = st.one_of(
    st.builds(lambda rest: (1, 3, 6, 1) + tuple(rest), st.lists(arcs, max_size=16)),
    st.builds(lambda first, rest: first + tuple(rest), first_arcs, st.lists(arcs, max_size=24)),
)
long_oids = st.builds(lambda first, rest: first + tuple(rest), first_arcs, st.lists(arcs, min_size=100, max_size=126))

octets = st.one_of(st.binary(max_size=40), st.binary(min_size=120, max_size=300))  # short and long-form lengths


def value_strategy(version: Version) -> st.SearchStrategy[tuple[int, object]]:
    choices = [
        st.tuples(st.just(Tag.INTEGER), int32),
        st.tuples(st.just(Tag.OCTET_STRING), octets),
        st.just((Tag.NULL, None)),
        st.tuples(st.just(Tag.OBJECT_IDENTIFIER), oids),
        st.tuples(st.just(Tag.IPADDRESS), st.binary(min_size=4, max_size=4)),
        st.tuples(st.sampled_from([Tag.COUNTER32, Tag.GAUGE32, Tag.TIMETICKS]), uint32),
        st.tuples(st.just(Tag.OPAQUE), octets),
    ]
    if version != Version.V1:
        choices += [
            st.tuples(st.just(Tag.COUNTER64), uint64),
            st.tuples(st.sampled_from([Tag.NO_SUCH_OBJECT, Tag.NO_SUCH_INSTANCE, Tag.END_OF_MIB_VIEW]), st.none()),
        ]
    return st.one_of(choices)


def varbinds(version: Version, max_size: int = 8) -> st.SearchStrategy[tuple[VarBind, ...]]:
    vb = st.builds(lambda oid, tv: VarBind(oid, *tv), oids, value_strategy(version))
    return st.lists(vb, max_size=max_size).map(tuple)


PLAIN_TYPES_V1 = [PduType.GET, PduType.GET_NEXT, PduType.RESPONSE, PduType.SET]
PLAIN_TYPES_V2 = PLAIN_TYPES_V1 + [PduType.INFORM, PduType.TRAP_V2, PduType.REPORT]


def pdus(version: Version) -> st.SearchStrategy:
    vbs = varbinds(version)
    if version == Version.V1:
        return st.one_of(
            st.builds(Pdu, st.sampled_from(PLAIN_TYPES_V1), int32, edgy(0, 5, [0, 5]) | int32, int32, vbs),
            st.builds(TrapV1Pdu, oids, st.binary(min_size=4, max_size=4), edgy(0, 6, [0, 6]) | int32, int32, uint32, vbs),
        )
    return st.one_of(
        # error-status is an unconstrained INTEGER in RFC 3416 (0..18 named), error-index 0..max-bindings
        st.builds(Pdu, st.sampled_from(PLAIN_TYPES_V2), int32, edgy(0, 18, [0, 18]) | int32, uint31, vbs),
        st.builds(BulkPdu, int32, uint31, uint31, vbs),
    )


communities = st.one_of(st.sampled_from([b"public", b"private", b""]), st.binary(max_size=200))
messages_v1 = st.builds(Message, st.just(Version.V1), communities, pdus(Version.V1))
messages_v2c = st.builds(Message, st.just(Version.V2C), communities, pdus(Version.V2C))
messages = st.one_of(messages_v1, messages_v2c)

flags = st.sampled_from([0, 1, 3, 4, 5, 7]) | st.integers(0, 255)


def _plaintext_or_encrypted(m: MessageV3) -> MessageV3:
    return m if m.scoped_pdu is None else attrs.evolve(m, encrypted_pdu=None)


messages_v3 = st.builds(
    MessageV3,
    msg_id=uint31,
    max_size=edgy(484, 2**31 - 1, [484, 1472, 65507, 2**31 - 1]),
    flags=flags,
    security_model=edgy(3, 2**31 - 1, [3]),
    security_parameters=octets,
    scoped_pdu=st.none() | st.builds(ScopedPdu, st.binary(max_size=32), st.binary(max_size=40), pdus(Version.V3)),
    encrypted_pdu=octets,
).map(_plaintext_or_encrypted)


# -- where pyasn1 and EyeNet emit different bytes --------------------------------


def is_pyasn1_padded(v: int) -> bool:
    """pyasn1 (0.6) sizes a negative INTEGER from v.bit_length(), so -2**(8k-1)
    (-128, -32768, -8388608, -2**31) gets a redundant leading FF byte (FF 80 for
    -128), which X.690 8.3.2 forbids. EyeNet emits the minimal form (80), as
    net-snmp does; both forms decode to the same value on both sides."""
    return v < 0 and (-v) & (-v - 1) == 0 and v.bit_length() % 8 == 0


def signed_fields(msg) -> list[int]:
    """Every INTEGER-typed number in a message (the fields both sides encode as signed)."""
    if isinstance(msg, MessageV3):
        out = [msg.msg_id, msg.max_size, msg.security_model]
        if msg.scoped_pdu is None:
            return out
        pdu = msg.scoped_pdu.pdu
    else:
        out = [int(msg.version)]
        pdu = msg.pdu
    if isinstance(pdu, TrapV1Pdu):
        out += [pdu.generic_trap, pdu.specific_trap]
    elif isinstance(pdu, BulkPdu):
        out += [pdu.request_id, pdu.non_repeaters, pdu.max_repetitions]
    else:
        out += [pdu.request_id, pdu.error_status, pdu.error_index]
    out += [vb.value for vb in pdu.varbinds if vb.tag == Tag.INTEGER]
    return out


def test_pyasn1_pads_negative_powers_of_two():
    """The documented divergence, pinned: if pyasn1 ever changes, this test says so."""
    for v, ours, theirs in [(-128, "02 01 80", "02 02 ff 80"), (-(2**31), "02 04 80 00 00 00", "02 05 ff 80 00 00 00")]:
        assert is_pyasn1_padded(v)
        assert encoder.encode(univ.Integer(v)) == bytes.fromhex(theirs)
        msg = Message(Version.V2C, b"p", Pdu(PduType.RESPONSE, v, 0, 0, (VarBind((1, 3), Tag.INTEGER, v),)))
        ours_b, theirs_b = encode_message(msg), pysnmp_encode(msg)
        assert bytes.fromhex(ours) in ours_b and bytes.fromhex(theirs) in theirs_b
        assert len(theirs_b) == len(ours_b) + 2
        assert decode_message(theirs_b) == decode_message(ours_b) == msg
        assert pysnmp_decode(ours_b) == pysnmp_decode(theirs_b) == msg
    assert not any(map(is_pyasn1_padded, [-127, -129, -1, 0, 128, -32767, -(2**31) + 1, 2**31 - 1]))


# -- the differential properties -------------------------------------------------

REAL_WORLD = [
    Message(Version.V2C, b"public", Pdu(PduType.GET, 1, 0, 0, (VarBind.null((1, 3, 6, 1, 2, 1, 1, 1, 0)),))),
    Message(
        Version.V2C,
        b"public",
        Pdu(
            PduType.RESPONSE,
            2**31 - 1,
            0,
            0,
            (
                VarBind((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), Tag.COUNTER64, 2**64 - 1),
                VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), Tag.COUNTER32, 4294967295),
                VarBind((1, 3, 6, 1, 2, 1, 1, 3, 0), Tag.TIMETICKS, 0),
                VarBind((1, 3, 6, 1, 2, 1, 1, 2, 0), Tag.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)),
                VarBind((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10, 0, 0, 1), Tag.IPADDRESS, b"\x0a\x00\x00\x01"),
                VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 1), Tag.OCTET_STRING, b"x" * 200),
                VarBind((1, 3, 6, 1, 2, 1, 99), Tag.END_OF_MIB_VIEW, None),
                VarBind((2, 999, 4294967295), Tag.INTEGER, -(2**31)),
            ),
        ),
    ),
    Message(Version.V2C, b"", BulkPdu(-1, 0, 2**31 - 1, ())),
    Message(Version.V1, b"public", TrapV1Pdu((1, 3, 6, 1, 4, 1, 9), b"\xc0\x00\x02\x01", 6, 17, 4294967295, ())),
    Message(Version.V1, b"public", Pdu(PduType.RESPONSE, -128, 2, 1, (VarBind((1, 3, 6, 1), Tag.GAUGE32, 2**32 - 1),))),
]


@SETTINGS
@given(messages)
@example(REAL_WORLD[0])
@example(REAL_WORLD[1])
@example(REAL_WORLD[2])
@example(REAL_WORLD[3])
@example(REAL_WORLD[4])
def test_eyenet_encodes_pysnmp_decodes(msg):
    assert pysnmp_decode(encode_message(msg)) == msg


@SETTINGS
@given(messages)
@example(REAL_WORLD[1])
@example(REAL_WORLD[3])
def test_pysnmp_encodes_eyenet_decodes(msg):
    back = decode_message(pysnmp_encode(msg))
    assert back == msg
    # the field types, not only values: enums where the model has them, plain ints/bytes/tuples in varbinds
    assert type(back.version) is Version and type(back.pdu.type) is PduType
    for vb, orig in zip(back.pdu.varbinds, msg.pdu.varbinds, strict=True):
        assert vb.tag == orig.tag and type(vb.value) is type(orig.value)


@SETTINGS
@given(messages)
@example(REAL_WORLD[1])
def test_same_bytes_as_pyasn1(msg):
    ours, theirs = encode_message(msg), pysnmp_encode(msg)
    if any(map(is_pyasn1_padded, signed_fields(msg))):
        # the one documented divergence (see is_pyasn1_padded): one extra byte per padded
        # INTEGER on the pyasn1 side, and the same message either way
        assert len(theirs) > len(ours)
        assert decode_message(theirs) == decode_message(ours) == msg
    else:
        assert ours == theirs


@SETTINGS
@given(st.sampled_from([Version.V1, Version.V2C]), st.lists(st.builds(VarBind.null, long_oids), min_size=1, max_size=4))
def test_long_oids(version, vbs):
    msg = Message(version, b"public", Pdu(PduType.GET_NEXT, 7, 0, 0, tuple(vbs)))
    data = encode_message(msg)
    assert data == pysnmp_encode(msg)
    assert pysnmp_decode(data) == msg
    assert decode_message(data) == msg


@settings(SETTINGS, max_examples=100)
@given(messages_v3)
def test_v3_framing_both_ways(msg):
    ours = encode_message(msg)
    assert pysnmp_decode(ours) == msg
    theirs = pysnmp_encode(msg)
    assert decode_message(theirs) == msg
    if not any(map(is_pyasn1_padded, signed_fields(msg))):
        assert ours == theirs


@SETTINGS
@given(uint32)
def test_unsigned32_is_gauge32_on_the_wire(value):
    """pysnmp's Unsigned32 shares Gauge32's tag (RFC 2578 7.1.11): EyeNet reads it as GAUGE32."""
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [((1, 3, 6, 1), rfc1902.Unsigned32(value))])
    m = v2c.Message()
    v2c.apiMessage.set_defaults(m)
    v2c.apiMessage.set_pdu(m, pdu)
    data = encoder.encode(m)
    msg = decode_message(data)
    assert msg.pdu.varbinds == (VarBind((1, 3, 6, 1), Tag.GAUGE32, value),)
    assert encode_message(msg) == data
