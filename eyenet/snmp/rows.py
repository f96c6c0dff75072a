"""Walked table columns as rows (row index -> value), and the values in them read as
facts: the sans-io half of reading SNMP tables (table.py does the walking), shared by the
poller's and neighbour discovery's cores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eyenet.snmp.values import Oid, VarBind, format_oid

Index = tuple[int, ...]
Rows = Mapping[Index, Any]  # one walked column: row index -> value


def rows_of(column: Oid, varbinds: Iterable[VarBind]) -> dict[Index, Any]:
    """A walked column as {row index: value}. The varbinds must be what a walk of the column
    returned (all under it, as the client guarantees): nothing here checks that again, once
    per varbind of every poll."""
    n = len(column)
    return {oid[n:]: value for oid, _, value in varbinds if value is not None}


def text_of(value: Any) -> str:
    """An OCTET STRING as text: UTF-8 when it is, else Latin-1; trailing NULs dropped."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        return text.rstrip("\x00")
    if isinstance(value, tuple):
        return format_oid(value)
    return str(value)


def int_value(value: Any) -> int | None:
    """An INTEGER/Counter/Gauge value, or None for anything else an agent sent instead."""
    return value if type(value) is int else None
