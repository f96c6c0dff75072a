"""Parse net-snmp command output and snmpsim ``.snmprec`` recordings into one form.

Both parsers return a list of varbinds ``(oid, type_name, value)``:

==============  =============================================================
type_name       value
==============  =============================================================
INTEGER         int (may be negative)
STRING          bytes (an OCTET STRING, whatever its content)
NULL            None
OID             tuple[int, ...]
IpAddress       bytes, 4 of them
Counter32       int
Gauge32         int (also Unsigned32: same tag on the wire)
Timeticks       int, hundredths of a second
Opaque          bytes; or a float when net-snmp decoded an Opaque-wrapped
                float/double (it prints those lossily, as "%f")
Counter64       int
noSuchObject    None  (the three SNMPv2 exception values)
noSuchInstance  None
endOfMibView    None
==============  =============================================================

The net-snmp parser expects the options in ``NETSNMP_OUTPUT_OPTIONS``:

* ``-m ""``  load no MIB at all, so no DISPLAY-HINT, enum label, unit or
  "Wrong Type (should be ...)" decoration can reach the output, whatever
  /etc/snmp/snmp.conf says (Debian ships ``mibs :`` there, others don't);
* ``-On``    numeric OIDs, so every varbind line starts with ``.``;
* ``-Ox``    every non-empty OCTET STRING as ``Hex-STRING: 4C 69 ...``: no
  quoting or escaping to undo, no guessing whether a value was printable.
  net-snmp wraps these after 16 bytes, continuing on lines that start with a
  hex digit, never with ``.``; an empty string prints as ``""``;
* ``-Oe``    enums as numbers (a no-op without MIBs; kept for safety);
* ``-OU``    no units (likewise).

TimeTicks print as ``Timeticks: (208255664) 24 days, 2:29:16.64``. With
``-Ot`` they print as a bare number instead; the parser accepts that form too
(a bare decimal is only ever a TimeTicks), but the explicit one is preferred.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Union

Oid = tuple[int, ...]
Value = Union[int, bytes, None, Oid, float]
Varbind = tuple[Oid, str, Value]

# The options net-snmp's tools must be run with for parse_netsnmp_output().
NETSNMP_OUTPUT_OPTIONS: tuple[str, ...] = ("-m", "", "-On", "-Ox", "-Oe", "-OU")

TYPE_NAMES = frozenset(
    {
        "INTEGER",
        "STRING",
        "NULL",
        "OID",
        "IpAddress",
        "Counter32",
        "Gauge32",
        "Timeticks",
        "Opaque",
        "Counter64",
        "noSuchObject",
        "noSuchInstance",
        "endOfMibView",
    }
)

EXCEPTION_TYPES = frozenset({"noSuchObject", "noSuchInstance", "endOfMibView"})


class ParseError(ValueError):
    """Output or recording text this module does not understand."""


def parse_oid(text: str) -> Oid:
    """``".1.3.6"`` or ``"1.3.6"`` -> ``(1, 3, 6)``."""
    text = text.strip()
    if text.startswith("."):
        text = text[1:]
    if not text:
        raise ParseError("empty OID")
    try:
        parts = tuple(int(p) for p in text.split("."))
    except ValueError:
        raise ParseError(f"not a numeric OID: {text!r}") from None
    if any(p < 0 for p in parts):
        raise ParseError(f"negative sub-identifier in OID: {text!r}")
    return parts


def format_oid(oid: Iterable[int]) -> str:
    """``(1, 3, 6)`` -> ``"1.3.6"`` (no leading dot, as in .snmprec files)."""
    return ".".join(str(p) for p in oid)


# --------------------------------------------------------------------------
# net-snmp tool output
# --------------------------------------------------------------------------

_EXCEPTION_TEXT = {
    "No Such Object available on this agent at this OID": "noSuchObject",
    "No Such Instance currently exists at this OID": "noSuchInstance",
    "No more variables left in this MIB View (It is past the end of the MIB tree)": "endOfMibView",
}

_UNSIGNED_TYPES = {"Counter32", "Gauge32", "Counter64"}
_HEX_BYTE = re.compile(r"^[0-9A-Fa-f]{2}$")
_TIMETICKS = re.compile(r"^\((\d+)\)(?: .*)?$")


def _hex_bytes(text: str, where: str) -> bytes:
    tokens = text.split()
    if not all(_HEX_BYTE.match(t) for t in tokens):
        raise ParseError(f"{where}: bad hex string {text!r}")
    return bytes(int(t, 16) for t in tokens)


def _unsigned(text: str, where: str, bits: int) -> int:
    if not text.isdigit():
        raise ParseError(f"{where}: not an unsigned number: {text!r}")
    value = int(text)
    if value >= 1 << bits:
        raise ParseError(f"{where}: {value} does not fit in {bits} bits")
    return value


def _parse_netsnmp_value(text: str, where: str) -> tuple[str, Value]:
    if text in _EXCEPTION_TEXT:
        return _EXCEPTION_TEXT[text], None
    if text == '""':
        return "STRING", b""
    if text == "NULL":
        return "NULL", None
    if text.isdigit():  # -Ot TimeTicks: nothing else prints as a bare number
        return "Timeticks", _unsigned(text, where, 32)
    prefix, sep, rest = text.partition(": ")
    if not sep:
        raise ParseError(f"{where}: cannot parse value {text!r}")
    rest = rest.strip()
    if prefix == "INTEGER":
        if not re.fullmatch(r"-?\d+", rest):
            raise ParseError(f"{where}: INTEGER value {rest!r} (MIB enum label? run with -m '' -Oe)")
        return "INTEGER", int(rest)
    if prefix == "Hex-STRING":
        return "STRING", _hex_bytes(rest, where)
    if prefix == "STRING":
        raise ParseError(f"{where}: quoted STRING output is ambiguous; run the tool with -Ox")
    if prefix == "OID":
        return "OID", parse_oid(rest)
    if prefix == "IpAddress":
        parts = rest.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
            raise ParseError(f"{where}: bad IpAddress {rest!r}")
        return "IpAddress", bytes(int(p) for p in parts)
    if prefix in _UNSIGNED_TYPES:
        return prefix, _unsigned(rest, where, 64 if prefix == "Counter64" else 32)
    if prefix == "Timeticks":
        m = _TIMETICKS.match(rest)
        if not m:
            raise ParseError(f"{where}: bad Timeticks {rest!r}")
        return "Timeticks", _unsigned(m.group(1), where, 32)
    if prefix in ("Opaque", "OPAQUE"):
        kind, sep2, number = rest.partition(": ")
        if sep2 and kind in ("Float", "Double"):
            return "Opaque", float(number)
        if rest == '""' or not rest:
            return "Opaque", b""
        if rest.startswith("Hex-STRING: "):
            rest = rest[len("Hex-STRING: ") :]
        return "Opaque", _hex_bytes(rest, where)
    raise ParseError(f"{where}: unknown value type {prefix!r} in {text!r}")


def parse_netsnmp_output(text: str) -> list[Varbind]:
    """Parse stdout of snmpget/snmpwalk/snmpbulkwalk run with NETSNMP_OUTPUT_OPTIONS.

    Each varbind starts a line with ``.OID = ``; a line of hex bytes that does
    not start with ``.`` continues the previous value (net-snmp wraps hex
    strings after 16 bytes). Blank lines and snmpwalk's "End of MIB" (SNMPv1
    noSuchName at the end of a walk) are skipped; anything else is an error.
    """
    lines: list[tuple[int, str]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped == "End of MIB":  # snmpwalk -v1 prints that at the end
            continue
        if raw.startswith("."):
            lines.append((lineno, raw))
        elif lines and all(_HEX_BYTE.match(t) for t in stripped.split()):
            first, previous = lines[-1]
            lines[-1] = (first, previous.rstrip() + " " + stripped)
        else:
            raise ParseError(f"line {lineno}: neither a varbind nor a hex continuation: {raw!r}")
    result: list[Varbind] = []
    for lineno, line in lines:
        oid_text, sep, value_text = line.partition(" = ")
        if not sep:
            # "= " with nothing after it is an empty value only for -OQ; refuse
            raise ParseError(f"line {lineno}: no ' = ' in {line!r}")
        where = f"line {lineno} ({oid_text})"
        type_name, value = _parse_netsnmp_value(value_text.strip(), where)
        result.append((parse_oid(oid_text), type_name, value))
    return result


# --------------------------------------------------------------------------
# .snmprec recordings
# --------------------------------------------------------------------------

# snmprec tag -> (type_name, decoder of the raw value bytes)
def _int_value(raw: bytes) -> int:
    return int(raw.decode("ascii"))


def _unsigned_value(bits: int):
    def decode(raw: bytes) -> int:
        text = raw.decode("ascii")
        if not text.isdigit() or int(text) >= 1 << bits:
            raise ValueError(f"not an unsigned {bits}-bit number: {text!r}")
        return int(text)

    return decode


def _ip_value(raw: bytes) -> bytes:
    parts = raw.split(b".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        # Not a dotted quad: nxos_n3k-3064pq has "64|<private>" (anonymised).
        # Keep the raw text; no agent can serve it (see is_servable()).
        return raw
    return bytes(int(p) for p in parts)


def _hex_value(raw: bytes) -> bytes:
    text = raw.decode("ascii")
    if len(text) % 2 or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise ValueError(f"bad hex value {text!r}")
    return bytes.fromhex(text)


def _null_value(raw: bytes) -> None:
    if raw:
        raise ValueError(f"NULL with a value: {raw!r}")
    return None


_SNMPREC_TAGS = {
    "2": ("INTEGER", _int_value),
    "4": ("STRING", bytes),
    "4x": ("STRING", _hex_value),
    "5": ("NULL", _null_value),
    "6": ("OID", lambda raw: parse_oid(raw.decode("ascii"))),
    "64": ("IpAddress", _ip_value),
    "64x": ("IpAddress", _hex_value),
    "65": ("Counter32", _unsigned_value(32)),
    "66": ("Gauge32", _unsigned_value(32)),
    "67": ("Timeticks", _unsigned_value(32)),
    "68": ("Opaque", bytes),
    "68x": ("Opaque", _hex_value),
    "70": ("Counter64", _unsigned_value(64)),
}


def parse_snmprec_line(line: bytes | str, lineno: int = 0) -> Varbind:
    """One ``OID|TAG|VALUE`` line (without its newline) -> varbind.

    Split on the first two ``|`` only: the value may itself contain ``|``.
    """
    if isinstance(line, str):
        line = line.encode("utf-8")
    parts = line.split(b"|", 2)
    if len(parts) != 3:
        raise ParseError(f"line {lineno}: expected OID|TAG|VALUE, got {line[:80]!r}")
    oid_raw, tag_raw, raw = parts
    tag = tag_raw.decode("ascii", "replace")
    if tag not in _SNMPREC_TAGS:
        raise ParseError(f"line {lineno}: unsupported snmprec tag {tag!r}")
    type_name, decode = _SNMPREC_TAGS[tag]
    try:
        value = decode(raw)
        oid = parse_oid(oid_raw.decode("ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"line {lineno}: {exc}") from None
    return oid, type_name, value


def parse_snmprec(data: bytes | str) -> list[Varbind]:
    """Parse the whole content of a ``.snmprec`` file.

    Values are taken byte for byte (tag ``4`` is raw text, not decoded).
    Accepts ``\\n`` or ``\\r\\n`` line ends and a last line without one.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    result = []
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            continue
        result.append(parse_snmprec_line(line, lineno))
    return result


def read_snmprec(path: str | Path) -> list[Varbind]:
    """Parse a ``.snmprec`` file."""
    return parse_snmprec(Path(path).read_bytes())


def without_counter64(varbinds: Iterable[Varbind]) -> list[Varbind]:
    """What an SNMPv1 walk of the same data can show: SNMPv1 has no Counter64,
    so a v1 agent skips those (RFC 3584 section 4.2.2.1)."""
    return [vb for vb in varbinds if vb[1] != "Counter64"]


def is_servable(varbind: Varbind) -> bool:
    """False for a record no SNMP agent can send as written: an IpAddress that
    is not 4 bytes (nxos_n3k-3064pq's ``64|<private>``)."""
    _, type_name, value = varbind
    return not (type_name == "IpAddress" and len(value) != 4)  # type: ignore[arg-type]


def snmpsim_walk(records: Iterable[Varbind], version: str = "2c") -> list[Varbind]:
    """What a full GETNEXT/GETBULK walk of ``.1`` returns from snmpsim 1.2 serving
    ``records`` (snmpsim-lextudio, measured with net-snmp's snmpbulkwalk/snmpwalk):

    * every record, exactly as written, in file order, until the first record
      that cannot be encoded (see is_servable()): there snmpsim logs a "data
      error" and answers GETNEXT/GETBULK with endOfMibView for the requested
      OID (SNMPv1: noSuchName), so the walk stops before it, even though
      later records are still served by GET and by walks that start after
      the bad ones;
    * for SNMPv1, without the Counter64 records (skipped, RFC 3584 4.2.2.1).

    Not modelled yet, because none of agents.SNMPSIM_EXACT_RECORDINGS has it (some
    other recordings do): snmpsim strips trailing whitespace off a ``4|`` value
    (``4|ab  `` is served as ``ab``).

    The trailing endOfMibView varbinds a v2c walk prints are not included;
    strip them with strip_end_of_walk().
    """
    result = []
    for vb in records:
        if not is_servable(vb):
            break
        result.append(vb)
    if version == "1":
        result = without_counter64(result)
    elif version != "2c":
        raise ValueError(f"version must be '1' or '2c', not {version!r}")
    return result


def strip_end_of_walk(varbinds: list[Varbind]) -> list[Varbind]:
    """Drop the endOfMibView varbinds that end a walk of the whole tree
    (snmpbulkwalk prints one per remaining repetition of the last GETBULK)."""
    end = len(varbinds)
    while end and varbinds[end - 1][1] == "endOfMibView":
        end -= 1
    return varbinds[:end]
