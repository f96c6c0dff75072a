"""IF-MIB rows -> InterfaceReading: names, statuses, speeds and the counters a poll reads.

Pure functions over walked columns: which rows exist, which columns each poll must read
(the labels change rarely and are kept between polls), and 32-bit fallbacks where an
agent has no 64-bit counters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import attrs

from eyenet.collect.identity import label_text
from eyenet.snmp.mib import IF_COLUMNS
from eyenet.snmp.rows import Index, Rows
from eyenet.snmp.values import Oid

# Columns a row needs only where ifXTable does not cover it: the 32-bit octet counters where
# a 64-bit one is missing, ifSpeed where ifHighSpeed is missing or 0. They are read for those
# rows alone, after the other columns (walking them whole would mostly fetch unused values).
IF_FALLBACK_COLUMNS = ("ifInOctets", "ifOutOctets", "ifSpeed")
# Columns that name and describe an interface rather than measure it. They are read with the
# rest when the table may have changed (first poll, ifNumber, ifTableLastChange, a reboot,
# rows that appear or vanish) and every `[poller] interface_refresh` seconds (ifAlias edits
# say nothing else), not on every poll: they are a third of a poll's varbinds, all strings.
IF_LABEL_COLUMNS = ("ifDescr", "ifType", "ifName", "ifAlias", "ifMtu", "ifPhysAddress")
# The ifTable columns whose rows say which interfaces exist (ifIndex itself is not-accessible
# on many agents' walks, and the recordings do not carry it: the row index is the ifIndex).
_IF_ROW_COLUMNS = ("ifDescr", "ifType", "ifAdminStatus", "ifOperStatus")

IF_SPEED_SATURATED = 4294967295  # ifSpeed's maximum: "look at ifHighSpeed"
# Keyed by whatever an agent sent (looked up with the raw value, not found when not an int).
ADMIN_STATUS: dict[Any, str] = {1: "up", 2: "down", 3: "testing"}
OPER_STATUS: dict[Any, str] = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}


class InterfaceReading(NamedTuple):
    """One ifTable row. speed in bit/s (None: unknown); octets from the 64-bit counters
    when the agent has them (counter_bits 64), else the 32-bit ones (32). A NamedTuple, built
    without its Python __new__: every poll makes one per interface."""

    if_index: int
    if_name: str
    if_descr: str
    if_alias: str
    if_type: int | None
    admin_status: str | None
    oper_status: str | None
    speed: int | None
    in_octets: int | None
    out_octets: int | None
    counter_bits: int | None
    in_errors: int | None
    out_errors: int | None
    counter_discontinuity: int | None  # ifCounterDiscontinuityTime, hundredths of a second
    mtu: int | None = None  # ifMtu, octets
    mac: str | None = None  # ifPhysAddress as "aa:bb:cc:dd:ee:ff" (None: empty, or not a MAC)
    last_change: int | None = None  # ifLastChange: sysUpTime (hundredths) when its status last changed

    @property
    def name(self) -> str:
        return self.if_name or self.if_descr or str(self.if_index)


# Interfaces no one watches, as LibreNMS leaves them out by default: MPLS' label-switched
# interface (Junos "lsi"), a Catalyst's VLANs without an SVI ("unrouted VLAN 1"), PPP's
# Virtual-Template (a template, not an interface). `[poller] ignore_interfaces` replaces it.
DEFAULT_IGNORED_INTERFACES = (r"^lsi$", r"^unrouted VLAN\b", r"^Virtual-Template\d+$")


def ignored(itf: InterfaceReading, patterns: Sequence[re.Pattern], not_present: bool = True) -> bool:
    """Whether an interface is listed but left out of totals and alerts: its ifOperStatus is
    notPresent (a port without its module or transceiver, a LAG with no member), it has no
    name at all, or its name or description matches one of the patterns (searched)."""
    if not_present and itf.oper_status == "notPresent":
        return True
    if not itf.if_name and not itf.if_descr:
        return True
    return any(p.search(text) for p in patterns for text in (itf.if_name, itf.if_descr) if text)


def interface_speed(if_speed: int | None, if_high_speed: int | None) -> int | None:
    """Bit/s: ifHighSpeed (Mbit/s) x 10^6 when the agent gives a non-zero one, else ifSpeed
    unless it is saturated (4294967295: too fast for 32 bits, and no ifHighSpeed). 0: None."""
    if if_high_speed:
        return if_high_speed * 1_000_000
    if if_speed and if_speed != IF_SPEED_SATURATED:
        return if_speed
    return None


@attrs.frozen
class InterfaceLabels:
    """IF_LABEL_COLUMNS as one poll read them (texts decoded, types as integers), with the
    table's state then, which says when they must be read again."""

    rows: tuple[Index, ...]  # the interfaces: ifTable's row indexes, in order
    status_rows: frozenset[Index]  # rows of ifAdminStatus / ifOperStatus: the same set later, the same table
    names: Mapping[Index, str]
    descrs: Mapping[Index, str]
    aliases: Mapping[Index, str]
    types: Mapping[Index, int]
    mtus: Mapping[Index, int] = attrs.field(factory=dict)
    macs: Mapping[Index, str] = attrs.field(factory=dict)
    if_number: int | None = None
    last_change: int | None = None  # ifTableLastChange
    uptime: int | None = None  # sysUpTime ticks
    read_at: float = 0.0  # Trio clock
    # The share of the refresh interval these labels last: 1, or less for a device's first
    # reading (read_device draws it), so that a fleet started at once spreads its refreshes
    # over the interval instead of reading every label table again in the same minute.
    lasts: float = 1.0
    # Rows agree with ifNumber, or the same rows were read twice. net-snmp answers ifNumber
    # live but its ifTable from a cache of a few seconds: rows read just after an interface
    # came are short, and walks that stop at the last known row would never see the new one.
    settled: bool = True

    def current(self, if_number: int | None, last_change: int | None, uptime: int | None, now: float, refresh: float) -> bool:
        """Still right by what this poll's system group says: nothing added, removed or
        rebooted since, and younger than refresh seconds."""
        return (
            self.settled
            and now - self.read_at < refresh * self.lasts
            and if_number == self.if_number
            and last_change == self.last_change
            and uptime is not None
            and self.uptime is not None
            and uptime >= self.uptime
        )


def interface_labels(columns: Mapping[str, Rows], previous: InterfaceLabels | None = None, **state: Any) -> InterfaceLabels:
    """The labels of walked IF-MIB columns (keyed by column name, as interfaces_from_columns);
    previous: the labels they replace, whose rows confirm a count that disagrees with ifNumber."""
    empty: Rows = {}
    before = previous if previous is not None else _NO_LABELS
    found = interface_rows(columns)
    # One object per row index and per unchanged label, the previous reading's: labels are read
    # again every refresh and mostly read the same, and events made from the old ones (the push
    # replay ring's) would otherwise hold a second copy of every device's labels for minutes.
    row = {r: r for r in found}
    row.update((r, r) for r in before.rows if r in row)
    rows = tuple(row[r] for r in found)
    names, descrs, aliases = (
        _kept({i: label_text(v, alias=name == "ifAlias") for i, v in columns.get(name, empty).items()}, old, row)
        for name, old in (("ifName", before.names), ("ifDescr", before.descrs), ("ifAlias", before.aliases))
    )
    macs = _kept({i: mac for i, v in columns.get("ifPhysAddress", empty).items() if (mac := mac_address(v)) is not None},
                 before.macs, row)
    if_number = state.get("if_number")
    settled = if_number is None or len(rows) == if_number or (previous is not None and previous.rows == rows)
    return InterfaceLabels(
        rows, frozenset(row.get(i, i) for i in status_rows(columns)), names, descrs, aliases,
        _kept(_int_rows(columns.get("ifType", empty)), before.types, row),
        _kept(_int_rows(columns.get("ifMtu", empty)), before.mtus, row), macs, **state, settled=settled,
    )


_NO_LABELS = InterfaceLabels((), frozenset(), {}, {}, {}, {})


def _kept(read: Mapping[Index, Any], before: Mapping[Index, Any], row: Mapping[Index, Index]) -> dict[Index, Any]:
    """read, keyed by row's index objects, each value that equals before's for its row
    replaced by before's object."""
    out = {}
    for i, value in read.items():
        i = row.get(i, i)
        old = before.get(i)
        out[i] = old if old == value else value
    return out


def mac_address(value: Any) -> str | None:
    """ifPhysAddress as a MAC: 6 octets as lower-case colon hex; None for empty (loopbacks,
    tunnels) or other lengths (FireWire's 8, a serial line's nothing)."""
    if not isinstance(value, bytes) or len(value) != 6:
        return None
    return ":".join(f"{b:02x}" for b in value)


def interfaces_from_columns(columns: Mapping[str, Rows], labels: InterfaceLabels | None = None) -> tuple[InterfaceReading, ...]:
    """Interfaces from walked IF-MIB columns, keyed by column name (see IF_COLUMNS) and
    row index, named by labels (read from the same columns when not given). An interface is
    a row of ifTable; ifXTable only adds to it."""
    if labels is None:
        labels = interface_labels(columns)
    empty: Rows = {}
    # Each column once, up front (integers only where a number is meant), so that each row is
    # plain dict look-ups: this runs for every interface of every poll.
    (speed_of, high_speed_of, hc_in_of, hc_out_of, in_of, out_of, in_errors_of, out_errors_of, discontinuity_of,
     last_change_of) = (_int_rows(columns.get(name, empty)).get for name in _IF_INT_COLUMNS)
    name_of, descr_of, alias_of, type_of = labels.names.get, labels.descrs.get, labels.aliases.get, labels.types.get
    mtu_of, mac_of = labels.mtus.get, labels.macs.get
    admin, oper = columns.get("ifAdminStatus", empty), columns.get("ifOperStatus", empty)
    out = []
    in_octets: int | None
    out_octets: int | None
    bits: int | None
    for index in labels.rows:
        hc_in, hc_out = hc_in_of(index), hc_out_of(index)
        if hc_in is not None and hc_out is not None:
            in_octets, out_octets, bits = hc_in, hc_out, 64
        else:
            in_octets, out_octets = in_of(index), out_of(index)
            bits = 32 if in_octets is not None or out_octets is not None else None
        out.append(
            _interface_reading((
                index[0],  # if_index
                name_of(index, ""),
                descr_of(index, ""),
                alias_of(index, ""),
                type_of(index),
                ADMIN_STATUS.get(admin.get(index)),
                OPER_STATUS.get(oper.get(index)),
                interface_speed(speed_of(index), high_speed_of(index)),
                in_octets,
                out_octets,
                bits,  # counter_bits
                in_errors_of(index),
                out_errors_of(index),
                discontinuity_of(index),
                mtu_of(index),
                mac_of(index),
                last_change_of(index),
            ))
        )
    return tuple(out)


_interface_reading = functools.partial(tuple.__new__, InterfaceReading)  # fields in order, as above


def by_name(columns: Mapping[Oid, Rows]) -> dict[str, Rows]:
    """IF-MIB columns walked by OID, keyed by their names in IF_COLUMNS (empty when not read)."""
    return {name: columns.get(column, {}) for name, column in IF_COLUMNS.items()}


def interface_rows(columns: Mapping[str, Rows]) -> list[Index]:
    """The row indexes of ifTable, in order: the interfaces."""
    return sorted({i for name in _IF_ROW_COLUMNS for i in columns.get(name, ()) if len(i) == 1})


def status_rows(columns: Mapping[str, Rows]) -> frozenset[Index]:
    """The rows of the status columns, which every poll reads."""
    return frozenset(i for name in ("ifAdminStatus", "ifOperStatus") for i in columns.get(name, ()) if len(i) == 1)


def fallback_rows(columns: Mapping[str, Rows], rows: Iterable[Index]) -> dict[str, list[Index]]:
    """For each of IF_FALLBACK_COLUMNS, which of the interfaces rows need it (as
    interfaces_from_columns will read them: 32-bit octets unless both 64-bit counters are
    there, ifSpeed unless ifHighSpeed is a non-zero integer)."""
    empty: Rows = {}
    hc_in, hc_out, high = (columns.get(name, empty) for name in ("ifHCInOctets", "ifHCOutOctets", "ifHighSpeed"))
    counters = [i for i in rows if type(hc_in.get(i)) is not int or type(hc_out.get(i)) is not int]
    speed = [i for i in rows if type(high.get(i)) is not int or not high[i]]
    return {"ifInOctets": counters, "ifOutOctets": counters, "ifSpeed": speed}


_IF_INT_COLUMNS = (
    "ifSpeed", "ifHighSpeed", "ifHCInOctets", "ifHCOutOctets", "ifInOctets", "ifOutOctets", "ifInErrors", "ifOutErrors",
    "ifCounterDiscontinuityTime", "ifLastChange",
)


def _int_rows(rows: Rows) -> dict[Index, int]:
    """The rows whose value is an integer (as _int, for a whole column)."""
    return {i: v for i, v in rows.items() if type(v) is int}
