"""Read one device: system group, interfaces, CPU % and memory %, as a DeviceReading.

The I/O (`read_device`) only walks columns and gets instances, concurrently in a
nursery; everything that turns what came back into facts is a pure function
below it (`rows_of`, `interfaces_from_columns`, `evaluate` and the combining
functions), so unit tests feed rows without an agent.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import attrs
import trio

from .profiles import HR_STORAGE_RAM, Method, Profile, ProfileSet, match
from .snmp import SnmpClient, SnmpErrorStatus, SnmpTimeout, SnmpWalkError, Target, VarBind, format_oid
from .snmp.errors import SnmpError

Oid = tuple[int, ...]
Index = tuple[int, ...]
Rows = Mapping[Index, Any]  # one walked column: row index -> value

# SNMPv2-MIB system group
SYS_DESCR: Oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_NAME: Oid = (1, 3, 6, 1, 2, 1, 1, 5, 0)
IF_NUMBER: Oid = (1, 3, 6, 1, 2, 1, 2, 1, 0)  # ifNumber: rows in ifTable
IF_TABLE_LAST_CHANGE: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 5, 0)  # IF-MIB::ifTableLastChange (sysUpTime of the last row added or removed)

_IF = (1, 3, 6, 1, 2, 1, 2, 2, 1)  # IF-MIB::ifEntry
_IFX = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)  # IF-MIB::ifXEntry
IF_COLUMNS: dict[str, Oid] = {
    "ifDescr": _IF + (2,),
    "ifType": _IF + (3,),
    "ifSpeed": _IF + (5,),
    "ifAdminStatus": _IF + (7,),
    "ifOperStatus": _IF + (8,),
    "ifInOctets": _IF + (10,),
    "ifInErrors": _IF + (14,),
    "ifOutOctets": _IF + (16,),
    "ifOutErrors": _IF + (20,),
    "ifName": _IFX + (1,),
    "ifHCInOctets": _IFX + (6,),
    "ifHCOutOctets": _IFX + (10,),
    "ifHighSpeed": _IFX + (15,),
    "ifAlias": _IFX + (18,),
    "ifCounterDiscontinuityTime": _IFX + (19,),
}
# Columns a row needs only where ifXTable does not cover it: the 32-bit octet counters where
# a 64-bit one is missing, ifSpeed where ifHighSpeed is missing or 0. They are read for those
# rows alone, after the other columns (walking them whole would mostly fetch unused values).
IF_FALLBACK_COLUMNS = ("ifInOctets", "ifOutOctets", "ifSpeed")
# Columns that name and describe an interface rather than measure it. They are read with the
# rest when the table may have changed (first poll, ifNumber, ifTableLastChange, a reboot,
# rows that appear or vanish) and every `[poller] interface_refresh` seconds (ifAlias edits
# say nothing else), not on every poll: they are a third of a poll's varbinds, all strings.
IF_LABEL_COLUMNS = ("ifDescr", "ifType", "ifName", "ifAlias")
# The ifTable columns whose rows say which interfaces exist (ifIndex itself is not-accessible
# on many agents' walks, and the recordings do not carry it: the row index is the ifIndex).
_IF_ROW_COLUMNS = ("ifDescr", "ifType", "ifAdminStatus", "ifOperStatus")

IF_SPEED_SATURATED = 4294967295  # ifSpeed's maximum: "look at ifHighSpeed"
ADMIN_STATUS = {1: "up", 2: "down", 3: "testing"}
OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}

# HOST-RESOURCES-MIB::hrStorageEntry
_HR_STORAGE = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_TYPE = _HR_STORAGE + (2,)
HR_STORAGE_DESCR = _HR_STORAGE + (3,)
HR_STORAGE_UNITS = _HR_STORAGE + (4,)
HR_STORAGE_SIZE = _HR_STORAGE + (5,)
HR_STORAGE_USED = _HR_STORAGE + (6,)
HR_STORAGE_COLUMNS = (HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED)

GET_BATCH = 20  # instances per GET request


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

    @property
    def name(self) -> str:
        return self.if_name or self.if_descr or str(self.if_index)


@attrs.frozen
class DeviceReading:
    sys_descr: str
    sys_object_id: str  # dotted, no leading dot; "" when the agent has none
    sys_name: str
    uptime_ticks: int | None  # sysUpTime, hundredths of a second
    vendor: str
    profile: str  # the most specific profile that matched ("generic" when none else did)
    profiles: tuple[str, ...]  # every matched profile, in the order tried
    cpu: float | None
    memory: float | None
    cpu_method: str | None  # the method that gave cpu: "file [cpu] #n"
    memory_method: str | None
    interfaces: tuple[InterfaceReading, ...]
    problems: tuple[str, ...] = ()  # parts the agent did not answer (the reading is partial)
    # For the next read_device of the device.
    labels: "InterfaceLabels | None" = attrs.field(default=None, eq=False, repr=False)
    plan: "MetricPlan | None" = attrs.field(default=None, eq=False, repr=False)

    @property
    def uptime(self) -> float | None:
        """sysUpTime in seconds."""
        return None if self.uptime_ticks is None else self.uptime_ticks / 100


# -- I/O ----------------------------------------------------------------------


async def read_device(
    client: SnmpClient,
    target: Target,
    profiles: ProfileSet | Sequence[Profile],
    labels: InterfaceLabels | None = None,
    refresh: float = 600.0,
    plan: "MetricPlan | None" = None,
) -> DeviceReading:
    """Read a device once. Raises SnmpError (SnmpTimeout: no answer) when the system group
    cannot be read; a column that fails later is left out and named in `problems`.

    labels, plan: what the previous reading's `labels` and `plan` held; reused, so that
    IF_LABEL_COLUMNS are not read and only the CPU and memory methods that worked are, while
    the table shows no change and the labels are younger than refresh seconds."""
    reader = TableReader(client, target)
    if_columns: dict[Oid, dict[Index, Any]] = {}
    # SNMPv1 agents fail a whole GET for one missing object, and v1 ones rarely have IF-MIB's.
    v1 = target.version == "1"
    scalars = [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, IF_NUMBER] + ([] if v1 else [IF_TABLE_LAST_CHANGE])
    # The instances the planned CPU and memory methods get ride in the same request.
    planned = plan.gets() if plan is not None and labels is not None else []
    system = await reader.get_many(scalars + [oid for oid in planned if oid not in scalars], required=True)
    now = trio.current_time()
    table = {
        "if_number": _int(system.get(IF_NUMBER)),
        "last_change": _int(system.get(IF_TABLE_LAST_CHANGE)),
        "uptime": _int(system.get(SYS_UPTIME)),
    }
    sys_object_id = system.get(SYS_OBJECT_ID)
    oid = tuple(sys_object_id) if isinstance(sys_object_id, tuple) else ()
    descr = text_of(system.get(SYS_DESCR))
    if labels is not None and not labels.current(**table, now=now, refresh=refresh):
        labels = None
    # The plan is made again with the labels (a reboot, the refresh), and for another device.
    if labels is None or plan is None or (plan.sys_object_id, plan.sys_descr) != (oid, descr):
        plan = None
    # ifNumber bounds each column walk's requests, so they do not read on into the next column;
    # with current labels the rows are known, and the walks stop at the last instead of reading
    # on to see the column end.
    hint = table["if_number"] if table["if_number"] and table["if_number"] > 0 else None
    last_row = None
    if labels is not None and labels.rows:
        hint, last_row = len(labels.rows), labels.rows[-1]
    # SNMPv1 has no Counter64, so every row needs the fallback columns: walk them with the rest.
    skipped = (() if v1 else IF_FALLBACK_COLUMNS) + (IF_LABEL_COLUMNS if labels is not None else ())
    walked = [column for name, column in IF_COLUMNS.items() if name not in skipped]
    async with snmp_nursery() as nursery:
        for columns in by_table(walked):  # ifTable, ifXTable: two request streams at once
            nursery.start_soon(reader.walk_columns, columns, if_columns, hint, last_row)
        used = plan
        read = {o: system[o] for o in planned if o in system}
        metrics, plan = await _read_metrics(reader, plan, read) if plan is not None else (None, None)
        if plan is None:  # none yet, or a planned method gave nothing: match and try again
            profile_list = profiles.profiles if isinstance(profiles, ProfileSet) else tuple(profiles)
            plan = MetricPlan(oid, descr, tuple(match(profile_list, oid, descr)))
            metrics, plan = await _read_metrics(reader, plan, read)
        matched = plan.profiles
    named = by_name(if_columns)
    if labels is not None and status_rows(named) != labels.status_rows:
        # Rows came or went with nothing in the system group saying so: read the labels now.
        labels = None
        async with snmp_nursery() as nursery:
            for columns in by_table(IF_COLUMNS[name] for name in IF_LABEL_COLUMNS):
                nursery.start_soon(reader.walk_columns, columns, if_columns, hint)
        named = by_name(if_columns)
    fresh = labels is None
    if fresh:
        labels = interface_labels(named, **table, read_at=now)
    if not v1:
        needs = fallback_rows(named, labels.rows)
        await reader.read_rows({IF_COLUMNS[name]: rows for name, rows in needs.items()}, if_columns, hint)
        named = by_name(if_columns)

    first = matched[0] if matched else None
    return DeviceReading(
        sys_descr=descr,
        sys_object_id=format_oid(oid),
        sys_name=text_of(system.get(SYS_NAME)),
        uptime_ticks=table["uptime"],
        vendor=first.vendor if first else "",
        profile=first.name if first else "",
        profiles=tuple(p.name for p in matched),
        cpu=metrics["cpu"][0],
        memory=metrics["memory"][0],
        cpu_method=metrics["cpu"][1],
        memory_method=metrics["memory"][1],
        interfaces=interfaces_from_columns(named, labels),
        problems=tuple(reader.problems),
        # Labels from a partial reading may lack some: read them again next time.
        labels=None if fresh and reader.problems else labels,
        # As with labels: a plan made from a partial reading may miss a method that works.
        plan=None if plan is not used and reader.problems else plan,
    )


@attrs.frozen
class MetricPlan:
    """The profiles a device matched and the methods that gave its CPU and memory at its last
    full read, so that later polls read only what those methods need. Made again whenever
    the interface labels are (a reboot, the refresh interval), and when a planned method
    stops giving a value."""

    sys_object_id: Oid
    sys_descr: str
    profiles: tuple[Profile, ...]
    made: bool = False  # the methods below were chosen by a full read
    cpu: Method | None = None  # None: no method gave one (then none is tried until the plan is made again)
    memory: Method | None = None
    # For an hrstorage memory method (without filters): the hrStorageTable rows that counted,
    # with their type, description and units, which do not change; polls then get only
    # their size and used instead of walking the table.
    storage: Mapping[Oid, Rows] | None = None

    @property
    def methods(self) -> list[Method]:
        return [m for m in (self.cpu, self.memory) if m is not None]

    @property
    def fetched(self) -> list[Method]:
        """The methods whose OIDs a poll reads as they say (walks, gets)."""
        return [m for m in self.methods if not (m is self.memory and self.storage is not None)]

    def gets(self) -> list[Oid]:
        """The instances a poll gets: those of the fetched methods that get, and the size and
        used of the pinned hrStorage rows."""
        out = [oid for m in self.fetched if not m.walk for oid in m.oids()]
        if self.storage is not None:
            out += [column + index for index in self.storage[HR_STORAGE_TYPE] for column in (HR_STORAGE_SIZE, HR_STORAGE_USED)]
        return out

    def pinned_columns(self, scalars: Mapping[Oid, Any]) -> dict[Oid, Rows]:
        """The hrStorage columns for the pinned rows: the kept ones, and size and used as got."""
        rows = self.storage[HR_STORAGE_TYPE]
        return {
            **self.storage,
            HR_STORAGE_SIZE: {i: scalars.get(HR_STORAGE_SIZE + i) for i in rows},
            HR_STORAGE_USED: {i: scalars.get(HR_STORAGE_USED + i) for i in rows},
        }


def pinned_storage(method: Method, columns: Mapping[Oid, Rows]) -> dict[Oid, Rows] | None:
    """What MetricPlan.storage keeps for an hrstorage method that gave a value (None: not one
    to pin, as it filters rows by other columns)."""
    if method.kind != "hrstorage" or method.where:
        return None
    types, descrs = columns.get(HR_STORAGE_TYPE, {}), columns.get(HR_STORAGE_DESCR, {})
    roles = hrstorage_roles(types, descrs, columns.get(HR_STORAGE_SIZE, {}), name=method.name, reclaimable=method.reclaimable)
    return {column: {i: columns.get(column, {}).get(i) for i in roles} for column in (HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS)}


async def _read_metrics(
    reader: "TableReader", plan: MetricPlan, scalars: dict[Oid, Any]
) -> tuple[dict[str, tuple[float | None, str | None]] | None, MetricPlan | None]:
    """CPU and memory by a made plan's methods, or (None, None) when one of them gives nothing
    now. A plan not made yet: profile by profile, most specific first, fetch what its methods
    for the metrics still unknown need (concurrently), evaluate them in order; the first value
    wins, and the plan is made of the winners.
    scalars: instances already read (the planned gets, read with the system group)."""
    result: dict[str, tuple[float | None, str | None]] = {"cpu": (None, None), "memory": (None, None)}
    columns: dict[Oid, dict[Index, Any]] = {}
    if plan.made:
        await reader.fetch(plan.fetched, scalars, columns)
        if plan.storage is not None:
            columns.update(plan.pinned_columns(scalars))
        for metric in ("cpu", "memory"):
            method = getattr(plan, metric)
            if method is not None:
                value = evaluate(method, scalars, columns)
                if value is None:
                    return None, None
                result[metric] = (value, method.label)
        return result, plan
    chosen: dict[str, Method | None] = {"cpu": None, "memory": None}
    for profile in plan.profiles:
        methods = [m for metric in ("cpu", "memory") if result[metric][0] is None for m in getattr(profile, metric)]
        if not methods:
            continue
        await reader.fetch(methods, scalars, columns)
        for metric in ("cpu", "memory"):
            if result[metric][0] is not None:
                continue
            for method in getattr(profile, metric):
                value = evaluate(method, scalars, columns)
                if value is not None:
                    result[metric] = (value, method.label)
                    chosen[metric] = method
                    break
        if all(v[0] is not None for v in result.values()):
            break
    storage = pinned_storage(chosen["memory"], columns) if chosen["memory"] is not None else None
    return result, attrs.evolve(plan, made=True, storage=storage, **chosen)


class TableReader:
    """Walks and gets for one device, collecting what the agent did not answer in `problems`
    (collect.py for polls, neighbours.py for discovery)."""

    def __init__(self, client: SnmpClient, target: Target):
        self.client = client
        self.target = target
        self.problems: list[str] = []

    async def walk_into(
        self, column: Oid, out: dict[Oid, dict[Index, Any]], max_rows: int | None = None, last_row: Index | None = None
    ) -> None:
        try:
            varbinds = await self.client.walk(self.target, column, max_rows, last_row)
        except (SnmpTimeout, SnmpErrorStatus, SnmpWalkError) as exc:
            self.problems.append(f"walk {format_oid(column)}: {exc}")
            varbinds = []
        out[column] = rows_of(column, varbinds)

    async def walk_columns(
        self, columns: Sequence[Oid], out: dict[Oid, dict[Index, Any]], max_rows: int | None = None, last_row: Index | None = None
    ) -> None:
        """Columns walked side by side, sharing requests. An error status fails the shared
        request for all of them, so then each is walked alone: a column the agent cannot
        serve costs only itself, as with walk_into."""
        if len(columns) == 1:
            return await self.walk_into(columns[0], out, max_rows, last_row)
        try:
            walked = await self.client.walk_columns(self.target, columns, max_rows, last_row)
        except (SnmpErrorStatus, SnmpWalkError):
            async with snmp_nursery() as nursery:
                for column in columns:
                    nursery.start_soon(self.walk_into, column, out, max_rows, last_row)
            return
        except SnmpTimeout as exc:
            self.problems.append(f"walk {', '.join(map(format_oid, columns))}: {exc}")
            walked = [[] for _ in columns]
        for column, varbinds in zip(columns, walked):
            out[column] = rows_of(column, varbinds)

    async def read_rows(self, needs: Mapping[Oid, Sequence[Index]], out: dict[Oid, dict[Index, Any]], max_rows: int | None) -> None:
        """Some rows of some columns: one GET of those instances when they fit in one, else a
        walk of the columns (several GETs would cost more than one walk)."""
        wanted = [column + index for column, rows in needs.items() for index in rows]
        if len(wanted) > GET_BATCH:
            last = max(index for rows in needs.values() for index in rows)
            return await self.walk_columns([column for column, rows in needs.items() if rows], out, max_rows, last)
        values = await self.get_many(wanted) if wanted else {}
        for column, rows in needs.items():
            out[column] = {index: v for index in rows if (v := values.get(column + index)) is not None}

    async def get_many(self, oids: Sequence[Oid], required: bool = False) -> dict[Oid, Any]:
        """Values by OID (None when the agent has no such instance). SNMPv1 agents fail a
        whole GET for one missing instance (noSuchName): then each is asked alone."""
        out: dict[Oid, Any] = {}
        for start in range(0, len(oids), GET_BATCH):
            batch = list(oids[start : start + GET_BATCH])
            try:
                out.update(_values(await self.client.get(self.target, batch)))
            except SnmpErrorStatus:
                for oid in batch:
                    try:
                        out.update(_values(await self.client.get(self.target, [oid])))
                    except SnmpErrorStatus:
                        out[oid] = None
            except SnmpTimeout as exc:
                if required:
                    raise
                self.problems.append(f"get {', '.join(map(format_oid, batch))}: {exc}")
        return out

    async def fetch(self, methods: Iterable[Method], scalars: dict[Oid, Any], columns: dict[Oid, dict[Index, Any]]) -> None:
        walks: list[Oid] = []
        gets: list[Oid] = []
        if not methods:
            return
        for method in methods:
            needed = method.oids() if method.kind != "hrstorage" else method.oids() + HR_STORAGE_COLUMNS
            for oid in needed:
                if method.walk:
                    if oid not in columns and oid not in walks:
                        walks.append(oid)
                elif oid not in scalars and oid not in gets:
                    gets.append(oid)

        async def get_all() -> None:
            scalars.update(await self.get_many(gets))

        async with snmp_nursery() as nursery:
            # All in one stream of requests, whatever their tables: columns of unknown length
            # then share the rows each answer reads past the shortest of them.
            if walks:
                nursery.start_soon(self.walk_columns, walks, columns)
            if gets:
                nursery.start_soon(get_all)


class snmp_nursery:
    """A nursery that re-raises a lone SnmpError as itself, not inside an ExceptionGroup."""

    async def __aenter__(self) -> trio.Nursery:
        self._cm = trio.open_nursery()
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc_info) -> bool:
        try:
            return await self._cm.__aexit__(*exc_info)
        except BaseExceptionGroup as group:
            leaves = list(_leaves(group))
            errors = [e for e in leaves if isinstance(e, SnmpError)]
            if errors and len(errors) == len(leaves):
                raise errors[0] from None
            raise


def _leaves(group: BaseExceptionGroup):
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


def by_table(columns: Iterable[Oid]) -> list[list[Oid]]:
    """Columns grouped by the table entry they belong to (the OID less its last arc), in order."""
    tables: dict[Oid, list[Oid]] = {}
    for column in columns:
        tables.setdefault(column[:-1], []).append(column)
    return list(tables.values())


def _values(varbinds: Iterable[VarBind]) -> dict[Oid, Any]:
    return {tuple(vb.oid): vb.value for vb in varbinds}


# -- pure: rows -> facts --------------------------------------------------------


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


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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
    if_number: int | None = None
    last_change: int | None = None  # ifTableLastChange
    uptime: int | None = None  # sysUpTime ticks
    read_at: float = 0.0  # Trio clock

    def current(self, if_number: int | None, last_change: int | None, uptime: int | None, now: float, refresh: float) -> bool:
        """Still right by what this poll's system group says: nothing added, removed or
        rebooted since, and younger than refresh seconds."""
        return (
            now - self.read_at < refresh
            and if_number == self.if_number
            and last_change == self.last_change
            and uptime is not None
            and self.uptime is not None
            and uptime >= self.uptime
        )


def interface_labels(columns: Mapping[str, Rows], **state: Any) -> InterfaceLabels:
    """The labels of walked IF-MIB columns (keyed by column name, as interfaces_from_columns)."""
    empty: Rows = {}
    texts = [{i: text_of(v) for i, v in columns.get(name, empty).items()} for name in ("ifName", "ifDescr", "ifAlias")]
    return InterfaceLabels(
        tuple(interface_rows(columns)), status_rows(columns), *texts, _int_rows(columns.get("ifType", empty)), **state
    )


def interfaces_from_columns(columns: Mapping[str, Rows], labels: InterfaceLabels | None = None) -> tuple[InterfaceReading, ...]:
    """Interfaces from walked IF-MIB columns, keyed by column name (see IF_COLUMNS) and
    row index, named by labels (read from the same columns when not given). An interface is
    a row of ifTable; ifXTable only adds to it."""
    if labels is None:
        labels = interface_labels(columns)
    empty: Rows = {}
    # Each column once, up front (integers only where a number is meant), so that each row is
    # plain dict look-ups: this runs for every interface of every poll.
    (speed_of, high_speed_of, hc_in_of, hc_out_of, in_of, out_of, in_errors_of, out_errors_of, discontinuity_of) = (
        _int_rows(columns.get(name, empty)).get for name in _IF_INT_COLUMNS
    )
    name_of, descr_of, alias_of, type_of = labels.names.get, labels.descrs.get, labels.aliases.get, labels.types.get
    admin, oper = columns.get("ifAdminStatus", empty), columns.get("ifOperStatus", empty)
    out = []
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
    "ifCounterDiscontinuityTime",
)


def _int_rows(rows: Rows) -> dict[Index, int]:
    """The rows whose value is an integer (as _int, for a whole column)."""
    return {i: v for i, v in rows.items() if type(v) is int}


# -- pure: combining methods ----------------------------------------------------


def number(value: Any, regex: re.Pattern | None = None) -> float | None:
    """A reading as a number: integers as they are; strings (some vendors put figures in
    text) through regex group 1, or whole. None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str):
        if regex is not None:
            found = regex.search(value)
            if not found:
                return None
            value = found.group(1)
        try:
            result = float(value.strip())
        except ValueError:
            return None
        return result if math.isfinite(result) else None
    return None


def average(values: Sequence[float], weights: Sequence[float] | None = None) -> float | None:
    """The mean, or the weighted mean; None for no values or no weight."""
    if not values:
        return None
    if weights is None:
        return sum(values) / len(values)
    total = sum(weights)
    if total <= 0:
        return None
    return sum(v * w for v, w in zip(values, weights)) / total


def hundred_minus(idle: float | None) -> float | None:
    return None if idle is None else 100.0 - idle


def used_total(used: float | None, total: float | None) -> float | None:
    if used is None or total is None or total <= 0:
        return None
    return 100.0 * used / total


def used_free(used: float | None, free: float | None) -> float | None:
    """used / (used + free)."""
    if used is None or free is None:
        return None
    return used_total(used, used + free)


def free_total(free: float | None, total: float | None) -> float | None:
    if free is None:
        return None
    return used_total(None if total is None else total - free, total)


def hrstorage_percent(
    types: Rows, descrs: Rows, units: Rows, sizes: Rows, useds: Rows,
    ram_type: Oid = HR_STORAGE_RAM, name: re.Pattern | None = None, reclaimable: re.Pattern | None = None,
    keep: Iterable[Index] | None = None,
) -> float | None:
    """Memory % from hrStorageTable: the RAM rows (type hrStorageRam, descr matching `name`
    if given, not reclaimable), used x units over size x units, less the used bytes of the
    reclaimable rows (buffers, cache; any type). `keep`: only these rows (filters)."""
    allowed = set(keep) if keep is not None else None
    main_used = main_size = reclaim = 0
    found = False
    for index, role in hrstorage_roles(types, descrs, sizes, ram_type, name, reclaimable).items():
        if allowed is not None and index not in allowed:
            continue
        unit, used, size = _int(units.get(index)), _int(useds.get(index)), _int(sizes.get(index))
        if unit is None or used is None or size is None or unit <= 0:
            continue
        size, used = _unsigned32(size), _unsigned32(used)
        if role == "reclaimable":
            reclaim += used * unit
            continue
        found = True
        main_used += used * unit
        main_size += size * unit
    if not found:
        return None
    return used_total(max(main_used - reclaim, 0), main_size)


def hrstorage_roles(
    types: Rows, descrs: Rows, rows: Iterable[Index], ram_type: Oid = HR_STORAGE_RAM,
    name: re.Pattern | None = None, reclaimable: re.Pattern | None = None,
) -> dict[Index, str]:
    """The hrStorageTable rows that count for memory, by role: "main" (RAM) or "reclaimable"."""
    roles = {}
    for index in rows:
        descr = text_of(descrs.get(index))
        if reclaimable is not None and reclaimable.search(descr):
            roles[index] = "reclaimable"
        elif types.get(index) == ram_type and (name is None or name.search(descr)):
            roles[index] = "main"
    return roles


def _unsigned32(value: int) -> int:
    """hrStorageSize/Used are Integer32; agents with big disks and small units wrap them negative."""
    return value + 2**32 if value < 0 else value


def _keep(row_value: Any, f) -> bool:
    value = row_value
    if f.op == "matches":
        return value is not None and bool(f.value.search(text_of(value)))
    if f.op in ("above", "below"):
        n = number(value)
        return n is not None and (n > f.value if f.op == "above" else n < f.value)
    if isinstance(f.value, str):
        value = text_of(value)
    equal = value == f.value
    return equal if f.op == "equals" else (value is not None and not equal)


def kept_rows(method: Method, columns: Mapping[Oid, Rows], candidates: Iterable[Index]) -> list[Index]:
    """The candidate rows that pass every `where` filter of the method."""
    out = []
    for index in candidates:
        ok = True
        for f in method.where:
            row_value = format_oid(index) if f.column is None else columns.get(f.column, {}).get(index)
            if not _keep(row_value, f):
                ok = False
                break
        if ok:
            out.append(index)
    return out


def _role_rows(method: Method, role: str, columns: Mapping[Oid, Rows]) -> dict[Index, float]:
    """Per row: the sum of the role's columns (a row missing one of them is left out)."""
    oids = method.sources[role]
    common: set[Index] | None = None
    for oid in oids:
        keys = set(columns.get(oid, {}))
        common = keys if common is None else common & keys
    out = {}
    for index in common or ():
        values = [number(columns[oid][index], method.regex) for oid in oids]
        if all(v is not None for v in values):
            out[index] = sum(values) * method.role_scale.get(role, 1.0)
    return out


def _role_scalar(method: Method, role: str, scalars: Mapping[Oid, Any]) -> float | None:
    values = [number(scalars.get(oid), method.regex) for oid in method.sources[role]]
    if not values or any(v is None for v in values):
        return None
    return sum(values) * method.role_scale.get(role, 1.0)


def evaluate(method: Method, scalars: Mapping[Oid, Any], columns: Mapping[Oid, Rows]) -> float | None:
    """The method's percentage from what was read, or None when the device does not have
    what it needs (or answers nonsense: a result outside 0..100)."""
    result = _evaluate(method, scalars, columns)
    if result is None:
        return None
    result *= method.scale
    if not (-0.5 <= result <= 100.5):  # rounding slack; beyond it the reading is wrong
        return None
    return min(max(result, 0.0), 100.0)


def _evaluate(method: Method, scalars: Mapping[Oid, Any], columns: Mapping[Oid, Rows]) -> float | None:
    kind = method.kind
    if kind == "hrstorage":
        sizes = columns.get(HR_STORAGE_SIZE, {})
        keep = kept_rows(method, columns, sizes) if method.where else None
        return hrstorage_percent(
            columns.get(HR_STORAGE_TYPE, {}), columns.get(HR_STORAGE_DESCR, {}), columns.get(HR_STORAGE_UNITS, {}),
            sizes, columns.get(HR_STORAGE_USED, {}), name=method.name, reclaimable=method.reclaimable, keep=keep,
        )
    if kind in ("value", "average", "percent", "100-minus"):
        if method.walk:
            rows = _role_rows(method, "oid", columns)
            kept = kept_rows(method, columns, sorted(rows))
            weights = None
            if method.weight is not None:
                weight_rows = columns.get(method.weight, {})
                kept = [i for i in kept if number(weight_rows.get(i)) is not None]
                weights = [number(weight_rows[i]) for i in kept]
            value = average([rows[i] for i in kept], weights)
        else:
            value = _role_scalar(method, "oid", scalars)
        return hundred_minus(value) if kind == "100-minus" else value
    roles = _ROLE_PAIRS[kind]
    if method.walk:
        per_role = [_role_rows(method, role, columns) for role in roles]
        common = sorted(set(per_role[0]) & set(per_role[1]))
        kept = kept_rows(method, columns, common)
        if not kept:
            return None
        a, b = (sum(rows[i] for i in kept) for rows in per_role)
    else:
        a, b = (_role_scalar(method, role, scalars) for role in roles)
    return _COMBINE[kind](a, b)


_ROLE_PAIRS = {"used_total": ("used", "total"), "used_free": ("used", "free"), "free_total": ("free", "total")}
_COMBINE = {"used_total": used_total, "used_free": used_free, "free_total": free_total}
