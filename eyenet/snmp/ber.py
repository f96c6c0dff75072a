"""The subset of BER (X.690) that SNMP uses: definite lengths, one-byte tags.

Pure functions over bytes. Decoding is the poller's hot path, so the varbind-list
decoder is one flat loop with the checks inline; every malformed input ends in
SnmpDecodeError, with the offset and what was expected.
"""

from collections.abc import Iterable
from typing import Any

from eyenet.snmp.errors import SnmpDecodeError
from eyenet.snmp.values import Oid, Tag, VarBind

SEQUENCE = 0x30
# The tags the v3 framing reads and writes, as plain ints: a member of the Tag enum costs
# a look-up through the enum class at each use, which per-message code pays many times.
INTEGER = 0x02
OCTET_STRING = 0x04

# Bounds that keep a hostile datagram from costing unbounded time or memory.
MAX_INT_BYTES = 9  # Counter64 with a leading zero byte
MAX_OID_BYTES = 128 * 5  # 128 sub-identifiers of up to 32 bits
MAX_OID_ARCS = 128

# The first byte of an OID packs the first two arcs as 40 * X + Y.
_FIRST_ARCS = tuple((min(b // 40, 2), b - 40 * min(b // 40, 2)) for b in range(128))

_ONE_BYTE_ARCS = bytes(range(0x80))

# Decoded OIDs by their content octets. A poller meets the same few thousand OIDs (columns x
# row indexes, shared by devices of a kind) in every poll; a look-up costs a fifth of building
# the tuple, and the answers share one tuple per OID. Cleared when full: bounded whatever arrives.
OID_MEMO_SIZE = 1 << 17
_OIDS: dict[bytes, Oid] = {}
# Decoded varbinds by their content octets, for those whose value takes at most
# VARBIND_MEMO_VALUE_BYTES: statuses, speeds, error counters and discontinuity times of 0
# or a few, idle interfaces' counters. Most of a poll's varbinds are these and come back
# unchanged in every poll (and the same on many devices): a hit costs a slice and a look-up
# instead of parsing and building one. Larger values (moving counters, uptimes, strings)
# would only churn it. Bounded as _OIDS.
VARBIND_MEMO_SIZE = 1 << 16
VARBIND_MEMO_VALUE_BYTES = 2
_VARBINDS: dict[bytes, VarBind] = {}

_UNSIGNED_LIMITS = {0x41: 0xFFFFFFFF, 0x42: 0xFFFFFFFF, 0x43: 0xFFFFFFFF, 0x46: 0xFFFFFFFFFFFFFFFF}  # Counter32, Gauge32, TimeTicks, Counter64


# -- encoding -----------------------------------------------------------------


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def header(tag: int, n: int) -> bytes:
    """The tag and length of a TLV whose content has n bytes."""
    return bytes((tag, n)) if n < 0x80 else bytes((tag,)) + encode_length(n)


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    return header(tag, n) + content


def encode_signed(v: int) -> bytes:
    """Two's complement, minimal length (X.690 8.3)."""
    # Sized from ~v for negatives (fix): v.bit_length() over-counts -2**(8k-1) by one
    # byte, so -128 came out as FF 80 and -2**31 as FF 80 00 00 00: a redundant leading
    # byte that X.690 8.3.2 forbids (an agent that caps INTEGER at 4 bytes rejects it).
    return v.to_bytes((v if v >= 0 else ~v).bit_length() // 8 + 1, "big", signed=True)


def encode_integer(v: int) -> bytes:
    """The TLV of an INTEGER."""
    content = encode_signed(v)
    n = len(content)
    return bytes((0x02, n)) + content if n < 0x80 else header(0x02, n) + content


def encode_unsigned(v: int) -> bytes:
    """An unsigned SNMP type: non-negative two's complement, so a leading 0 when the top bit is set."""
    if v < 0:
        raise ValueError(f"unsigned value {v} is negative")
    return v.to_bytes(v.bit_length() // 8 + 1, "big")


def encode_oid(oid: Oid) -> bytes:
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39) or 40 * oid[0] + oid[1] > 0xFFFFFFFF:
        raise ValueError(f"OID {oid} must start 0.x or 1.x (x < 40) or 2.x, and have two arcs or more")
    rest = oid[2:]
    first = 40 * oid[0] + oid[1]
    if oid[0] >= 0 and oid[1] >= 0 and first < 0x80 and (not rest or (min(rest) >= 0 and max(rest) < 0x80)):
        return bytes((first, *rest))  # every sub-identifier in one byte: most requests' OIDs
    if min(oid) < 0 or max(oid) > 0xFFFFFFFF:
        raise ValueError(f"OID {oid} has a sub-identifier outside 0..4294967295")
    out = bytearray((first,)) if first < 0x80 else _base128(first)
    for arc in rest:
        if arc < 0x80:
            out.append(arc)
        else:
            out += _base128(arc)
    return bytes(out)


def _base128(v: int) -> bytearray:
    out = bytearray((v & 0x7F,))
    v >>= 7
    while v:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    out.reverse()
    return out


_EMPTY_VALUES = {int(t): bytes((t, 0)) for t in (Tag.NULL, Tag.NO_SUCH_OBJECT, Tag.NO_SUCH_INSTANCE, Tag.END_OF_MIB_VIEW)}
_BYTES_TAGS = frozenset(int(t) for t in (Tag.OCTET_STRING, Tag.OPAQUE, Tag.IPADDRESS))


def encode_value(tag: int, value: Any) -> bytes:
    """The TLV of one varbind value."""
    empty = _EMPTY_VALUES.get(tag)  # NULL first: every request carries it
    if empty is not None:
        return empty
    if tag == 0x02:
        return tlv(tag, encode_signed(value))
    if tag in _UNSIGNED_LIMITS:
        if value > _UNSIGNED_LIMITS[tag]:
            raise ValueError(f"{value} is out of range for tag 0x{tag:02x}")
        return tlv(tag, encode_unsigned(value))
    if tag in _BYTES_TAGS:
        return tlv(tag, bytes(value))
    if tag == 0x06:
        return tlv(tag, encode_oid(value))
    raise ValueError(f"cannot encode a value with tag 0x{tag:02x}")


def encode_varbinds(varbinds: Iterable[VarBind]) -> bytes:
    return tlv(
        SEQUENCE,
        b"".join(tlv(SEQUENCE, tlv(0x06, encode_oid(oid)) + encode_value(tag, value)) for oid, tag, value in varbinds),
    )


# -- decoding -----------------------------------------------------------------


def read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at pos, which must end by end."""
    if pos + 2 > end:
        raise SnmpDecodeError(f"truncated: a TLV header at offset {pos} runs past the end ({end})")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise SnmpDecodeError(f"multi-byte tag 0x{tag:02x} at offset {pos}: not used by SNMP")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise SnmpDecodeError(f"indefinite length at offset {pos - 1}: SNMP requires definite lengths")
        if k > 4:
            raise SnmpDecodeError(f"length of {k} bytes at offset {pos - 1}: too large for a datagram")
        if pos + k > end:
            raise SnmpDecodeError(f"truncated: the length at offset {pos - 1} runs past the end")
        n = int.from_bytes(data[pos : pos + k], "big")
        pos += k
    stop = pos + n
    if stop > end:
        raise SnmpDecodeError(f"truncated: tag 0x{tag:02x} at offset {pos} claims {n} bytes, {end - pos} remain")
    return tag, pos, stop


def expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """(content start, content end) of the TLV at pos, which must have the given tag."""
    got, start, stop = read_header(data, pos, end)
    if got != tag:
        raise SnmpDecodeError(f"expected {what} (tag 0x{tag:02x}) at offset {pos}, found tag 0x{got:02x}")
    return start, stop


def read_int(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """(value, next position) of an INTEGER at pos."""
    start, stop = expect(data, pos, end, Tag.INTEGER, what)
    if not start < stop <= start + MAX_INT_BYTES:
        raise SnmpDecodeError(f"{what} at offset {pos} has {stop - start} content bytes")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def decode_oid(c: bytes, pos: int = 0) -> Oid:
    """Content octets of an OBJECT IDENTIFIER -> tuple of arcs (pos is for error messages)."""
    n = len(c)
    if n == 0 or n > MAX_OID_BYTES:
        raise SnmpDecodeError(f"OID at offset {pos} has {n} content bytes")
    if c.isascii():  # every sub-identifier fits one byte: the common case
        if n > MAX_OID_ARCS - 1:
            raise SnmpDecodeError(f"OID at offset {pos} has more than {MAX_OID_ARCS} sub-identifiers")
        return _FIRST_ARCS[c[0]] + tuple(c[1:])
    if c[-1] & 0x80:
        raise SnmpDecodeError(f"OID at offset {pos} ends inside a sub-identifier")
    rest = c.lstrip(_ONE_BYTE_ARCS)  # from the first multi-byte sub-identifier on
    k = n - len(rest)
    if k:  # the usual shape: a one-byte prefix, then a few large arcs (ifIndex, enterprise)
        arcs = [*_FIRST_ARCS[c[0]], *c[1:k]]
    else:  # the first byte itself is large (2.x with x >= 48)
        arcs = []
    append = arcs.append
    v = 0
    for b in rest:
        if b & 0x80:
            v = (v | (b & 0x7F)) << 7
            if v > 0xFFFFFF80:  # the arc would pass 32 bits
                raise SnmpDecodeError(f"OID at offset {pos} has a sub-identifier over 32 bits")
        else:
            append(v | b)
            v = 0
    if not k:
        x = min(arcs[0] // 40, 2)
        arcs[0:1] = (x, arcs[0] - 40 * x)
    if len(arcs) > MAX_OID_ARCS:
        raise SnmpDecodeError(f"OID at offset {pos} has more than {MAX_OID_ARCS} sub-identifiers")
    return tuple(arcs)


def decode_varbinds(data: bytes, pos: int, end: int) -> tuple[list[VarBind], int]:
    """The VarBindList SEQUENCE at pos -> (varbinds, position after it)."""
    start, stop = expect(data, pos, end, SEQUENCE, "variable-bindings")
    out: list[VarBind] = []
    append = out.append
    known_oid = _OIDS.get
    known_varbind = _VARBINDS.get
    new_varbind = tuple.__new__  # VarBind's own __new__ adds a Python call per varbind
    value: int | bytes | Oid | None  # by tag, as VarBind.value
    i = start
    try:
        while i < stop:
            # VarBind SEQUENCE header, inline: this loop runs once per varbind.
            if data[i] != 0x30:
                raise SnmpDecodeError(f"expected a VarBind SEQUENCE at offset {i}, found tag 0x{data[i]:02x}")
            n = data[i + 1]
            i += 2
            if n & 0x80:
                _, i, vb_end = read_header(data, i - 2, stop)
                content = None
            else:
                vb_end = i + n
                if vb_end > stop:
                    raise SnmpDecodeError(f"truncated: VarBind at offset {i - 2} claims {n} bytes, {stop - i} remain")
                content = data[i:vb_end]
                vb = known_varbind(content)
                if vb is not None:
                    append(vb)
                    i = vb_end
                    continue
            # name
            if data[i] != 0x06:
                raise SnmpDecodeError(f"expected a VarBind name (OID) at offset {i}, found tag 0x{data[i]:02x}")
            n = data[i + 1]
            if n & 0x80:
                _, s, e = read_header(data, i, vb_end)
            else:
                s = i + 2
                e = s + n
                if e > vb_end:
                    raise SnmpDecodeError(f"truncated: OID at offset {i} claims {n} bytes, {vb_end - s} remain")
            raw = data[s:e]
            oid = known_oid(raw)
            if oid is None:
                if 0 < n < 127 and raw.isascii():
                    oid = _FIRST_ARCS[raw[0]] + tuple(raw[1:])
                else:
                    oid = decode_oid(raw, i)
                if len(_OIDS) >= OID_MEMO_SIZE:
                    _OIDS.clear()
                _OIDS[raw] = oid
            # value
            i = e
            tag = data[i]
            n = data[i + 1]
            if n & 0x80:
                _, s, e = read_header(data, i, vb_end)
            else:
                s = i + 2
                e = s + n
            if e != vb_end:
                raise SnmpDecodeError(f"VarBind value at offset {i} does not end where its VarBind does")
            n = e - s
            if tag == 0x46 or tag == 0x41 or tag == 0x42 or tag == 0x43:
                if not 0 < n <= MAX_INT_BYTES:
                    raise SnmpDecodeError(f"value at offset {i} has {n} content bytes for tag 0x{tag:02x}")
                value = int.from_bytes(data[s:e], "big")
                if n > 4 and value > _UNSIGNED_LIMITS[tag]:
                    raise SnmpDecodeError(f"value at offset {i} is out of range for tag 0x{tag:02x}")
            elif tag == 0x02:
                if not 0 < n <= MAX_INT_BYTES:
                    raise SnmpDecodeError(f"INTEGER at offset {i} has {n} content bytes")
                value = int.from_bytes(data[s:e], "big", signed=True)
            elif tag == 0x04 or tag == 0x44:
                value = data[s:e]
            elif tag == 0x06:
                value = decode_oid(data[s:e], i)
            elif tag == 0x40:
                if n != 4:
                    raise SnmpDecodeError(f"IpAddress at offset {i} has {n} bytes, not 4")
                value = data[s:e]
            elif tag == 0x05 or tag == 0x80 or tag == 0x81 or tag == 0x82:
                if n:
                    raise SnmpDecodeError(f"tag 0x{tag:02x} at offset {i} must be empty, has {n} bytes")
                value = None
            else:
                raise SnmpDecodeError(f"unknown value tag 0x{tag:02x} at offset {i}")
            vb = new_varbind(VarBind, (oid, tag, value))
            append(vb)
            if n <= VARBIND_MEMO_VALUE_BYTES and content is not None:
                if len(_VARBINDS) >= VARBIND_MEMO_SIZE:
                    _VARBINDS.clear()
                _VARBINDS[content] = vb
            i = vb_end
    except IndexError:
        raise SnmpDecodeError(f"truncated: a VarBind near offset {i} runs past the end") from None
    return out, stop
