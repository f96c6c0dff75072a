"""SNMP value types, variable bindings and OIDs as plain Python values.

A VarBind is a NamedTuple rather than an attrs class: the decoder builds hundreds of
thousands of them a second, and a tuple costs a third of a frozen attrs instance.
"""

from enum import IntEnum
from typing import Any, NamedTuple

from eyenet.snmp.errors import SnmpError

Oid = tuple[int, ...]


class Tag(IntEnum):
    """BER tags of the values a varbind can carry (RFC 3416, RFC 2578)."""

    INTEGER = 0x02
    OCTET_STRING = 0x04
    NULL = 0x05
    OBJECT_IDENTIFIER = 0x06
    IPADDRESS = 0x40
    COUNTER32 = 0x41
    GAUGE32 = 0x42
    TIMETICKS = 0x43
    OPAQUE = 0x44
    COUNTER64 = 0x46
    NO_SUCH_OBJECT = 0x80
    NO_SUCH_INSTANCE = 0x81
    END_OF_MIB_VIEW = 0x82


# The names net-snmp and the JSON output use for each tag; by int, as VarBind.tag is one.
TAG_NAMES: dict[int, str] = {
    Tag.INTEGER: "INTEGER",
    Tag.OCTET_STRING: "STRING",
    Tag.NULL: "NULL",
    Tag.OBJECT_IDENTIFIER: "OID",
    Tag.IPADDRESS: "IpAddress",
    Tag.COUNTER32: "Counter32",
    Tag.GAUGE32: "Gauge32",
    Tag.TIMETICKS: "Timeticks",
    Tag.OPAQUE: "Opaque",
    Tag.COUNTER64: "Counter64",
    Tag.NO_SUCH_OBJECT: "noSuchObject",
    Tag.NO_SUCH_INSTANCE: "noSuchInstance",
    Tag.END_OF_MIB_VIEW: "endOfMibView",
}

EXCEPTION_TAGS = frozenset({Tag.NO_SUCH_OBJECT, Tag.NO_SUCH_INSTANCE, Tag.END_OF_MIB_VIEW})


class VarBind(NamedTuple):
    """One variable binding.

    value is int for INTEGER, Counter32/64, Gauge32 and TimeTicks; bytes for OCTET
    STRING, Opaque and IpAddress (4 bytes); an Oid for OBJECT IDENTIFIER; None for
    NULL and the three exceptions.
    """

    oid: Oid
    tag: int
    value: Any

    @classmethod
    def null(cls, oid: Oid) -> "VarBind":
        """The binding a request carries: the OID with a NULL value."""
        return cls(oid, Tag.NULL, None)


def parse_oid(text: str) -> Oid:
    """'1.3.6.1.2.1' or '.1.3.6.1.2.1' -> (1, 3, 6, 1, 2, 1); a clear SnmpError otherwise."""
    body = text.strip()
    if body.startswith("."):
        body = body[1:]
    try:
        arcs = tuple(int(part) for part in body.split("."))
    except ValueError:
        raise SnmpError(f"bad OID {text!r}: use numbers separated by dots") from None
    # One arc ("1") names a whole tree: fine for a walk; requests need two.
    if arcs[0] > 2 or (len(arcs) > 1 and ((arcs[0] < 2 and arcs[1] > 39) or 40 * arcs[0] + arcs[1] > 0xFFFFFFFF)):
        raise SnmpError(f"bad OID {text!r}: it must start with 0.x, 1.x (x < 40) or 2.x")
    if any(a < 0 or a > 0xFFFFFFFF for a in arcs) or len(arcs) > 128:
        raise SnmpError(f"bad OID {text!r}: sub-identifiers are 0..4294967295, at most 128")
    return arcs


def format_oid(oid: Oid) -> str:
    return ".".join(map(str, oid))
