"""The SNMP decoder on hostile input.

decode_message must raise SnmpDecodeError and nothing else, finish, and stay
within a small memory budget, whatever the datagram holds. Every hostile input
here is bounded in size, so a hang would show as a test that never ends rather
than as a slow one (nothing here measures time). Memory is checked with
tracemalloc: the peak while decoding one input must stay under a few MB plus a
small multiple of the input size.

Whenever a mutated input does decode, re-encoding what was decoded and decoding
that again must give an equal message (round-trip stability).
"""

import tracemalloc

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from eyenet.snmp.ber import encode_oid, encode_value, tlv
from eyenet.snmp.errors import SnmpDecodeError
from eyenet.snmp.message import BulkPdu, Message, MessageV3, Pdu, PduType, ScopedPdu, TrapV1Pdu, Version, decode_message, encode_message
from eyenet.snmp.values import Tag, VarBind

H = bytes.fromhex

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# -- the valid messages the mutations start from ----------------------------------

ALL_VALUES = (
    VarBind((1, 3, 6, 1, 2, 1, 1, 1, 0), Tag.OCTET_STRING, b"Linux router 5.10"),
    VarBind((1, 3, 6, 1, 2, 1, 1, 2, 0), Tag.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)),
    VarBind((1, 3, 6, 1, 2, 1, 1, 3, 0), Tag.TIMETICKS, 4294967295),
    VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 7, 2), Tag.INTEGER, -(2**31)),
    VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 2), Tag.COUNTER32, 4294967295),
    VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 2), Tag.GAUGE32, 1000000000),
    VarBind((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 2), Tag.COUNTER64, 2**64 - 1),
    VarBind((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10, 0, 0, 1), Tag.IPADDRESS, b"\x0a\x00\x00\x01"),
    VarBind((1, 3, 6, 1, 4, 1, 2021, 10, 1, 6, 1), Tag.OPAQUE, H("9f 78 04 3f 80 00 00")),
    VarBind((2, 999, 4294967295, 128), Tag.NULL, None),
    VarBind((1, 3, 6, 1, 2, 1, 99, 1), Tag.NO_SUCH_OBJECT, None),
    VarBind((1, 3, 6, 1, 2, 1, 99, 2), Tag.NO_SUCH_INSTANCE, None),
    VarBind((1, 3, 6, 1, 2, 1, 99, 3), Tag.END_OF_MIB_VIEW, None),
)

SEED_MESSAGES = [
    Message(Version.V2C, b"public", Pdu(PduType.GET, 1, 0, 0, (VarBind.null((1, 3, 6, 1, 2, 1, 1, 1, 0)),))),
    Message(Version.V2C, b"public", Pdu(PduType.RESPONSE, 0x7FFFFFFF, 0, 0, ALL_VALUES)),
    Message(Version.V2C, b"c" * 130, BulkPdu(-5, 1, 25, (VarBind.null((1, 3, 6, 1, 2, 1, 2, 2, 1)),))),
    Message(Version.V1, b"private", Pdu(PduType.SET, 77, 0, 0, ALL_VALUES[:6])),
    Message(Version.V1, b"public", TrapV1Pdu((1, 3, 6, 1, 4, 1, 9), b"\xc0\x00\x02\x01", 6, 17, 123456, ALL_VALUES[:3])),
    Message(
        Version.V2C,
        b"public",
        Pdu(PduType.TRAP_V2, 9, 0, 0, (VarBind((1, 3, 6, 1, 2, 1, 1, 5, 0), Tag.OCTET_STRING, b"s" * 300),)),
    ),
    MessageV3(1, 65507, 4, 3, b"", ScopedPdu(b"", b"", Pdu(PduType.GET, 2))),
    MessageV3(
        0x12345678,
        1500,
        3,
        3,
        H("30 0e 04 00 02 01 00 02 01 00 04 00 04 00 04 00"),
        ScopedPdu(b"\x80\x00\x1f\x88\x04", b"ctx", Pdu(PduType.REPORT, 2, 0, 0, ALL_VALUES[4:6])),
    ),
    MessageV3(5, 484, 7, 3, b"p" * 40, None, bytes(range(256)) * 2),
]
SEEDS = [encode_message(m) for m in SEED_MESSAGES]
assert [decode_message(s) for s in SEEDS] == SEED_MESSAGES


# -- the harness ----------------------------------------------------------------


def memory_budget(data: bytes) -> int:
    return 4_000_000 + 8 * len(data)


def decode_hostile(data: bytes):
    """Decode data, which may be anything: return the message or None for SnmpDecodeError.

    Any other exception propagates and fails the test; the tracemalloc peak while
    decoding must stay within memory_budget(data).
    """
    data = bytes(data)
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        try:
            msg = decode_message(data)
        except SnmpDecodeError:
            msg = None
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if not tracing:
            tracemalloc.stop()
    assert peak < memory_budget(data), f"decoding {len(data)} bytes peaked at {peak} bytes"
    if msg is not None:
        assert_round_trip_stable(msg)
    return msg


def assert_round_trip_stable(msg):
    """A message that decoded re-encodes to bytes that decode to the same message."""
    again = encode_message(msg)
    assert decode_message(again) == msg
    assert encode_message(decode_message(again)) == again


def must_reject(data: bytes):
    assert decode_hostile(data) is None, f"accepted {bytes(data[:64]).hex()}..."


# -- (a) every truncation ----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{i}" for i in range(len(SEEDS))])
def test_every_truncation_is_rejected(seed):
    for n in range(len(seed)):
        must_reject(seed[:n])
    # and the same message with bytes after it
    for extra in (b"\x00", b"\x30\x00", seed):
        must_reject(seed + extra)


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{i}" for i in range(len(SEEDS))])
def test_every_truncation_with_the_outer_length_fixed(seed):
    """Cut the content short but make the outer SEQUENCE length agree, so the decoder
    has to find the truncation inside (the PDU, a varbind, a value)."""
    start = 2 if seed[1] < 0x80 else 2 + (seed[1] & 0x7F)
    for n in range(start, len(seed)):
        must_reject(tlv(0x30, seed[start:n]))


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{i}" for i in range(len(SEEDS))])
def test_every_single_byte_deletion(seed):
    for i in range(len(seed)):
        decode_hostile(seed[:i] + seed[i + 1 :])


@pytest.mark.parametrize("seed", SEEDS[:6], ids=[f"seed{i}" for i in range(6)])
def test_every_byte_set_to_boundary_values(seed):
    for i in range(len(seed)):
        for b in (0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF):
            decode_hostile(seed[:i] + bytes((b,)) + seed[i + 1 :])


@pytest.mark.parametrize(
    "vbl_content",
    [
        "30",  # a VarBind tag and then the end of the datagram
        "30 01 06",  # a name tag, then the end
        "30 03 06 01 2b",  # a name and no value
        "30 04 06 01 2b 02",  # a value tag, then the end
        "30 02 06 81",  # a long-form name length, then the end
        "30 05 06 01 2b 02 81",  # a long-form value length, then the end
        "30 03 06 01 2b 30",  # a second VarBind cut after its tag
    ],
)
def test_varbind_list_running_off_the_end_of_the_datagram(vbl_content):
    """Every enclosing length is consistent, so only the varbind loop's own checks stand
    between these and an IndexError (found by test_random_tlv_trees when that guard was removed)."""
    content = H(vbl_content)
    pdu = H("a2") + bytes((9 + 2 + len(content),)) + H("02 01 01 02 01 00 02 01 00 30") + bytes((len(content),))
    data = tlv(0x30, H("02 01 01 04 00") + pdu + content)
    assert data.endswith(content)
    must_reject(data)


# -- (b) random mutations of valid messages -----------------------------------------


@st.composite
def mutated(draw, seeds=SEEDS):
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "duplicate"]))
        i = draw(st.integers(0, len(data) - 1)) if data else 0
        if kind == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[i] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[i : i + draw(st.integers(1, 8))]
        elif kind == "duplicate" and data:
            j = draw(st.integers(i, min(len(data), i + 40)))
            data[j:j] = data[i:j]
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_messages(data):
    decode_hostile(data)


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_single_bit_flips(seed, data):
    i = data.draw(st.integers(0, len(seed) - 1))
    bit = data.draw(st.integers(0, 7))
    decode_hostile(seed[:i] + bytes((seed[i] ^ (1 << bit),)) + seed[i + 1 :])


# -- (c) random bytes, and random TLV trees -----------------------------------------


@FUZZ
@given(st.binary(max_size=600))
@example(b"")
@example(b"\x30")
@example(b"\x30\x00")
@example(b"\x30\x80")
def test_random_bytes(data):
    decode_hostile(data)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_in_a_message_envelope(body):
    """Random content behind a valid outer header, version and community: exercises the PDU decoder."""
    for version in (0, 1, 3):
        decode_hostile(tlv(0x30, bytes((2, 1, version)) + tlv(0x04, b"public") + body))
        decode_hostile(tlv(0x30, bytes((2, 1, version)) + tlv(0x04, b"public") + tlv(0xA2, body)))


TAGS = [0x02, 0x04, 0x05, 0x06, 0x30, 0x40, 0x41, 0x42, 0x43, 0x44, 0x46, 0x80, 0x81, 0x82, *range(0xA0, 0xA9)]
TAGS += [0x24, 0x1F, 0x00]  # constructed OCTET STRING, a multi-byte tag, tag 0


def tlvs(depth: int = 4) -> st.SearchStrategy[bytes]:
    """Random, mostly well-formed TLV trees over the tags SNMP uses: they get past the framing checks."""
    leaf = st.builds(lambda t, c: tlv(t, c), st.sampled_from(TAGS), st.binary(max_size=12))
    return st.recursive(
        leaf,
        lambda inner: st.builds(lambda t, kids: tlv(t, b"".join(kids)), st.sampled_from(TAGS), st.lists(inner, max_size=5)),
        max_leaves=30,
    )


@FUZZ
@given(st.lists(tlvs(), max_size=6))
def test_random_tlv_trees(parts):
    body = b"".join(parts)
    decode_hostile(tlv(0x30, body))
    decode_hostile(tlv(0x30, H("02 01 01 04 00") + body))
    decode_hostile(tlv(0x30, H("02 01 01 04 00") + tlv(0xA2, H("02 01 01 02 01 00 02 01 00") + tlv(0x30, body))))


VALUE_TAGS = [0x02, 0x04, 0x05, 0x06, 0x40, 0x41, 0x42, 0x43, 0x44, 0x46, 0x80, 0x81, 0x82]
arcs = st.one_of(st.integers(0, 127), st.integers(0, 2**32 - 1))
good_oids = st.builds(
    lambda first, rest: first + tuple(rest), st.sampled_from([(1, 3), (2, 2**32 - 81)]), st.lists(arcs, max_size=10)
)
good_names = st.builds(lambda oid: tlv(0x06, encode_oid(oid)), good_oids)
good_values = st.one_of(
    st.builds(lambda v: encode_value(Tag.INTEGER, v), st.integers(-(2**71), 2**71 - 1)),
    st.builds(encode_value, st.sampled_from([Tag.COUNTER32, Tag.GAUGE32, Tag.TIMETICKS]), st.integers(0, 2**32 - 1)),
    st.builds(lambda v: encode_value(Tag.COUNTER64, v), st.integers(0, 2**64 - 1)),
    st.builds(tlv, st.sampled_from([0x04, 0x44]), st.binary(max_size=20)),
    st.builds(lambda v: tlv(0x40, v), st.binary(min_size=4, max_size=4)),
    st.builds(lambda oid: tlv(0x06, encode_oid(oid)), good_oids),
    st.sampled_from([b"\x05\x00", b"\x80\x00", b"\x81\x00", b"\x82\x00"]),
)
any_names = st.one_of(st.builds(lambda c: tlv(0x06, c), st.binary(max_size=12)), tlvs())
any_values = st.one_of(
    st.builds(lambda t, c: tlv(t, c), st.sampled_from(VALUE_TAGS), st.binary(max_size=10)),
    st.builds(lambda t: bytes((t, 0)), st.sampled_from(VALUE_TAGS)),
    tlvs(),
)
varbind_pairs = st.builds(
    lambda good, odd: good + odd,
    st.lists(st.tuples(good_names, good_values), max_size=6),
    st.lists(st.tuples(st.one_of(good_names, any_names), st.one_of(good_values, any_values)), max_size=2),
).flatmap(st.permutations)


@FUZZ
@given(varbind_pairs)
def test_random_varbind_contents(pairs):
    """VarBind SEQUENCEs of name/value TLVs, well-framed, mostly valid plus a few random ones:
    exercises the inline varbind loop, and often decodes, so the round trip is checked too."""
    vbl = tlv(0x30, b"".join(tlv(0x30, a + b) for a, b in pairs))
    decode_hostile(tlv(0x30, H("02 01 01 04 00") + tlv(0xA2, H("02 01 01 02 01 00 02 01 00") + vbl)))


# -- (d) huge claimed lengths, indefinite lengths -----------------------------------

HOSTILE_LENGTHS = [
    "80",  # indefinite
    "84 ff ff ff ff",
    "84 7f ff ff ff",
    "84 00 00 ff ff",
    "83 ff ff ff",
    "82 ff ff",
    "81 ff",
    "85 01 00 00 00 00",
    "88 ff ff ff ff ff ff ff ff",
    "88 00 00 00 00 00 00 00 05",  # 5, said in 8 bytes
    "ff ff ff ff ff ff ff ff ff ff",  # 0x7f length bytes claimed
    "ff",
    "84",  # a length that ends the datagram
]


def tlv_header_offsets(data: bytes) -> list[int]:
    """The offset of every TLV header in a well-formed message (descending into constructed ones)."""
    out = []

    def walk(pos, end):
        while pos < end:
            out.append(pos)
            tag, n = data[pos], data[pos + 1]
            p = pos + 2
            if n & 0x80:
                k = n & 0x7F
                n = int.from_bytes(data[p : p + k], "big")
                p += k
            if tag & 0x20:
                walk(p, p + n)
            pos = p + n

    walk(0, len(data))
    return out


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{i}" for i in range(len(SEEDS))])
def test_hostile_lengths_at_every_tlv(seed):
    offsets = tlv_header_offsets(seed)
    assert len(offsets) > 5
    for pos in offsets:
        n = seed[pos + 1]
        after = pos + 2 + ((n & 0x7F) if n & 0x80 else 0)
        for length in HOSTILE_LENGTHS:
            # none of these is the true length said legally (8 length bytes are refused outright)
            must_reject(seed[: pos + 1] + H(length) + seed[after:])


@pytest.mark.parametrize("length", HOSTILE_LENGTHS)
def test_hostile_outer_lengths(length):
    for tail in (b"", b"\x02\x01\x01", SEEDS[1][2:], bytes(300)):
        must_reject(b"\x30" + H(length) + tail)


def test_large_claims_in_a_full_size_datagram():
    """A 64 KiB datagram whose inner lengths claim more than the datagram holds."""
    filler = bytes(65000)
    for length in ("84 ff ff ff ff", "84 00 01 00 00", "83 01 00 00", "82 ff ff"):
        must_reject(tlv(0x30, H("02 01 01 04" + length) + filler))
        must_reject(tlv(0x30, H("02 01 01 04 00 a2" + length) + filler))
        pdu_head = H("02 01 01 02 01 00 02 01 00")
        must_reject(tlv(0x30, H("02 01 01 04 00") + tlv(0xA2, pdu_head + H("30" + length) + filler)))
        vb = H("30" + length) + filler
        must_reject(tlv(0x30, H("02 01 01 04 00") + tlv(0xA2, pdu_head + tlv(0x30, vb))))


# -- (e) deep nesting ---------------------------------------------------------------


def nested(tags: bytes, depth: int, core: bytes = b"") -> bytes:
    """depth levels of constructed TLVs (cycling through tags) around core, lengths all correct."""
    out = core
    for i in range(depth):
        out = tlv(tags[i % len(tags)], out)
    return out


def nested_headers_only(tag: int, depth: int) -> bytes:
    """depth headers each claiming to hold everything after it, with nothing at the bottom."""
    return bytes((tag, 0x84)) + b"".join(bytes((tag, 0x84)) for _ in range(depth - 1))


@pytest.mark.parametrize("depth", [100, 10_000])
@pytest.mark.parametrize("tags", [b"\x30", b"\xa0", b"\x30\xa2", b"\x24", b"\x30\xa0\xa1\xa2\xa3\xa5\xa6\xa7\xa8"])
def test_deep_nesting(depth, tags):
    deep = nested(tags, depth)
    must_reject(deep)
    must_reject(nested(tags, depth, core=SEEDS[0]))
    # nested inside each level the decoder descends into: the PDU, the varbind list, a varbind, a value
    head = H("02 01 01 04 06 70 75 62 6c 69 63")
    pdu_head = H("02 01 01 02 01 00 02 01 00")
    oid = H("06 03 2b 06 01")
    must_reject(tlv(0x30, head + deep))
    must_reject(tlv(0x30, head + tlv(0xA2, pdu_head + deep)))
    must_reject(tlv(0x30, head + tlv(0xA2, pdu_head + tlv(0x30, deep))))
    must_reject(tlv(0x30, head + tlv(0xA2, pdu_head + tlv(0x30, tlv(0x30, oid + deep)))))
    must_reject(tlv(0x30, H("02 01 03") + deep))
    must_reject(tlv(0x30, H("02 01 03 30 0b 02 01 01 02 01 00 04 01 00 02 01 03 04 00") + deep))  # v3 msgData


@pytest.mark.parametrize("tag", [0x30, 0xA2, 0x24])
def test_ten_thousand_nested_headers_without_content(tag):
    must_reject(nested_headers_only(tag, 10_000))
    must_reject(b"\x30\x80" * 10_000)  # indefinite lengths all the way down
    must_reject(bytes((tag,)) * 20_000)


# -- (f) huge sub-identifiers and integers ------------------------------------------


def in_value(value_tlv: bytes) -> bytes:
    vb = tlv(0x30, H("06 03 2b 06 01") + value_tlv)
    return tlv(0x30, H("02 01 01 04 00") + tlv(0xA2, H("02 01 01 02 01 00 02 01 00") + tlv(0x30, vb)))


def in_name(oid_tlv: bytes) -> bytes:
    vb = tlv(0x30, oid_tlv + H("05 00"))
    return tlv(0x30, H("02 01 01 04 00") + tlv(0xA2, H("02 01 01 02 01 00 02 01 00") + tlv(0x30, vb)))


def in_enterprise(oid_tlv: bytes) -> bytes:
    pdu = tlv(0xA4, oid_tlv + H("40 04 00 00 00 00 02 01 00 02 01 00 43 01 00 30 00"))
    return tlv(0x30, H("02 01 00 04 00") + pdu)


HUGE_OIDS = [
    b"\x2b" + b"\xff" * 10_000 + b"\x7f",  # one 10 000-byte sub-identifier
    b"\x2b" + b"\x80" * 10_000 + b"\x01",  # 0x80 padding run (the value stays 1)
    b"\x2b" + b"\x80" * 10_000,  # ends inside a sub-identifier
    b"\xff" * 10_000 + b"\x7f",  # the first sub-identifier is huge
    b"\x80" * 10_001,
    b"\x2b" + b"\x81\x00" * 5_000,  # 5000 two-byte arcs
    b"\x2b" + b"\x01" * 10_000,  # 10 001 one-byte arcs
    b"\x2b" + b"\x8f\xff\xff\xff\x7f" * 2_000,  # 2000 maximal arcs
    b"\x2b" + b"\x90\x80\x80\x80\x00",  # 2**32: one past the limit
    b"\x2b" + b"\x80" * 600 + b"\x81\x00",  # a padded arc within the byte bound
]


@pytest.mark.parametrize("content", HUGE_OIDS, ids=range(len(HUGE_OIDS)))
def test_huge_oids(content):
    for wrap in (in_value, in_name, in_enterprise):
        msg = decode_hostile(wrap(tlv(0x06, content)))
        if content is HUGE_OIDS[-1]:
            # 603 bytes, under the 640-byte bound: the 0x80-padded 128 decodes (lenient)
            where = {in_value: lambda m: m.pdu.varbinds[0].value, in_name: lambda m: m.pdu.varbinds[0].oid}
            assert where.get(wrap, lambda m: m.pdu.enterprise)(msg) == (1, 3, 128)
        else:
            assert msg is None


HUGE_INTEGERS = [
    b"\x00" * 10_000 + b"\x01",  # leading zeros
    b"\xff" * 10_000,
    b"\x7f" + b"\xff" * 9_999,
    b"\x00" * 9 + b"\x01",  # 10 bytes, the smallest over the bound
    b"\x01" + b"\x00" * 8,  # 2**64 in 9 bytes
]


@pytest.mark.parametrize("content", HUGE_INTEGERS, ids=range(len(HUGE_INTEGERS)))
@pytest.mark.parametrize("tag", [0x02, 0x41, 0x42, 0x43, 0x46])
def test_huge_integer_values(tag, content):
    msg = decode_hostile(in_value(tlv(tag, content)))
    if len(content) == 9 and tag == 0x02:
        assert msg.pdu.varbinds[0].value == 2**64  # lenient: INTEGER up to 9 bytes
    else:
        assert msg is None


@pytest.mark.parametrize("content", HUGE_INTEGERS, ids=range(len(HUGE_INTEGERS)))
def test_huge_integer_fields(content):
    big = tlv(0x02, content)
    if len(content) > 9:
        must_reject(tlv(0x30, big + H("04 00 a0 0b 02 01 01 02 01 00 02 01 00 30 00")))  # version
        must_reject(tlv(0x30, H("02 01 01 04 00") + tlv(0xA0, big + H("02 01 00 02 01 00 30 00"))))  # request-id
        must_reject(tlv(0x30, H("02 01 01 04 00") + tlv(0xA5, H("02 01 01") + big + H("02 01 00 30 00"))))
        must_reject(tlv(0x30, H("02 01 03") + tlv(0x30, big + H("02 01 00 04 01 00 02 01 03")) + H("04 00 04 00")))
    trap = tlv(0xA4, H("06 01 2b 40 04 00 00 00 00 02 01 00 02 01 00") + tlv(0x43, content) + H("30 00"))
    must_reject(tlv(0x30, H("02 01 00 04 00") + trap))


def test_huge_strings_are_fine():
    """A long OCTET STRING is not hostile: it decodes, and costs about its own size."""
    data = in_value(tlv(0x04, b"x" * 60_000))
    msg = decode_hostile(data)
    assert msg.pdu.varbinds[0].value == b"x" * 60_000


def test_many_tiny_varbinds():
    """Datagrams of thousands of tiny varbinds: rejected or decoded within the memory budget."""
    bad = tlv(0x30, b"\x30\x00" * 30_000)
    must_reject(tlv(0x30, H("02 01 01 04 00") + tlv(0xA2, H("02 01 01 02 01 00 02 01 00") + bad)))
    ok = tlv(0x30, tlv(0x30, H("06 01 2b 05 00")) * 8_000)
    msg = decode_hostile(tlv(0x30, H("02 01 01 04 00") + tlv(0xA2, H("02 01 01 02 01 00 02 01 00") + ok)))
    assert len(msg.pdu.varbinds) == 8_000


def test_decoder_accepts_only_bytes_like():
    """Not hostile bytes but a programming error: a str is a TypeError, not a decode error."""
    with pytest.raises(TypeError):
        decode_message("0\x00")
