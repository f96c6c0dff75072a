"""How an operator sees a varbind: net-snmp-style text and a JSON form."""

import ipaddress
from typing import Any

from eyenet.snmp.values import TAG_NAMES, Tag, VarBind, format_oid

_EXCEPTION_TEXT: dict[int, str] = {  # by int: VarBind.tag is one
    Tag.NO_SUCH_OBJECT: "No Such Object available on this agent at this OID",
    Tag.NO_SUCH_INSTANCE: "No Such Instance currently exists at this OID",
    Tag.END_OF_MIB_VIEW: "No more variables left in this MIB View (It is past the end of the MIB tree)",
}


def printable_text(raw: bytes) -> str | None:
    """The string, if raw is UTF-8 that a terminal shows as it is; else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return text
    return None


def _timeticks(ticks: int) -> str:
    days, rem = divmod(ticks, 8640000)
    hours, rem = divmod(rem, 360000)
    minutes, rem = divmod(rem, 6000)
    seconds, hundredths = divmod(rem, 100)
    lead = f"{days} day{'s' if days != 1 else ''}, " if days else ""
    return f"({ticks}) {lead}{hours}:{minutes:02d}:{seconds:02d}.{hundredths:02d}"


def format_varbind(vb: VarBind) -> str:
    """'.1.3.6.1.2.1.1.3.0 = Timeticks: (12345) 0:02:03.45', in the spirit of net-snmp's -On."""
    oid = "." + format_oid(vb.oid)
    tag, value = vb.tag, vb.value
    if tag in _EXCEPTION_TEXT:
        return f"{oid} = {_EXCEPTION_TEXT[tag]}"
    if tag == Tag.OCTET_STRING:
        text = printable_text(value)
        if text is None:
            return f"{oid} = Hex-STRING: {value.hex(' ').upper()}" if value else f'{oid} = STRING: ""'
        return f'{oid} = STRING: "{text}"'
    if tag == Tag.NULL:
        return f"{oid} = NULL"
    if tag == Tag.OBJECT_IDENTIFIER:
        return f"{oid} = OID: .{format_oid(value)}"
    if tag == Tag.IPADDRESS:
        return f"{oid} = IpAddress: {ipaddress.IPv4Address(value)}"
    if tag == Tag.TIMETICKS:
        return f"{oid} = Timeticks: {_timeticks(value)}"
    if tag == Tag.OPAQUE:
        return f"{oid} = Opaque: {value.hex(' ').upper()}"
    return f"{oid} = {TAG_NAMES[tag]}: {value}"


def varbind_json(vb: VarBind) -> dict[str, Any]:
    """{"oid", "type", "value"}: octet strings as {"hex"} plus "text" when printable UTF-8."""
    tag, value = vb.tag, vb.value
    value_out: Any
    if tag in (Tag.OCTET_STRING, Tag.OPAQUE):
        value_out = {"hex": value.hex()}
        text = printable_text(value) if tag == Tag.OCTET_STRING else None
        if text is not None:
            value_out["text"] = text
    elif tag == Tag.OBJECT_IDENTIFIER:
        value_out = format_oid(value)
    elif tag == Tag.IPADDRESS:
        value_out = str(ipaddress.IPv4Address(value))
    else:
        value_out = value
    return {"oid": format_oid(vb.oid), "type": TAG_NAMES[tag], "value": value_out}
