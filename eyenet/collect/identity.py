"""What a device says it is, cleaned up: display texts as agents should have sent them.

Pure functions over values already read (sans-io).
"""

from __future__ import annotations

from typing import Any

from eyenet.snmp.rows import text_of

_QUOTES = ('"', "'")


def display_text(value: Any) -> str:
    """A DisplayString as meant: cut at the first NUL (padding, then garbage, on some agents),
    without surrounding blanks, and without the literal quotes some agents wrap it in
    (sysDescr '"Cisco IOS Software ..."')."""
    text = text_of(value).split("\x00", 1)[0].strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0] and text[0] not in text[1:-1]:
        text = text[1:-1].strip()
    return text


def label_text(value: Any, alias: bool = False) -> str:
    """An interface's name, description or alias. The agent's own ifName and ifDescr read as
    display_text (FASTPATH's " Link Aggregate 1", FortiOS' '"transport VLAN 10\\n"'); an
    ifAlias, typed by an operator, is only cut at the first NUL and loses its trailing blanks
    (fixed-width fields padded with spaces): leading blanks and quotes may be meant."""
    if not alias:
        return display_text(value)
    return text_of(value).split("\x00", 1)[0].rstrip()
