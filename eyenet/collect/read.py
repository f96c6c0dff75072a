"""Read one device: system group, interfaces, CPU % and memory %, as a DeviceReading.

The I/O (`read_device`) only walks columns and gets instances, concurrently in a
nursery; everything that turns what came back into facts is a pure function
below it (`rows_of`, `interfaces_from_columns`, `evaluate` and the combining
functions), so unit tests feed rows without an agent.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import trio

from eyenet.collect.identity import display_text
from eyenet.collect.interfaces import (
    IF_FALLBACK_COLUMNS,
    IF_LABEL_COLUMNS,
    InterfaceLabels,
    InterfaceReading,
    by_name,
    fallback_rows,
    interface_labels,
    interfaces_from_columns,
    status_rows,
)
from eyenet.collect.methods import assess, components, evaluate, hrstorage_roles, pointed
from eyenet.collect.profiles import Method, Profile, ProfileSet, match
from eyenet.events import Component, DeviceIdentity
from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.mib import (
    HR_STORAGE_COLUMNS,
    HR_STORAGE_DESCR,
    HR_STORAGE_SIZE,
    HR_STORAGE_TYPE,
    HR_STORAGE_UNITS,
    HR_STORAGE_USED,
    IF_COLUMNS,
    IF_NUMBER,
    IF_TABLE_LAST_CHANGE,
    SYS_DESCR,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
)
from eyenet.snmp.rows import Index, Rows, int_value
from eyenet.snmp.table import TableReader, by_table, snmp_nursery
from eyenet.snmp.values import Oid, format_oid

_jitter = random.Random()  # not the process's shared one, which an embedding program or its tests may seed or draw from


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
    identity: DeviceIdentity | None = None
    cpu_reason: str | None = None  # why cpu is None: what each method tried gave instead
    memory_reason: str | None = None
    # The processors and memory pools the cpu and memory methods read, each with its figure.
    components: tuple[Component, ...] = ()
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
    attempts = 0
    if plan is not None and plan.retry_at is not None and trio.current_time() >= plan.retry_at:
        # A metric no method gave: try every method again (a freshly booted agent fills its
        # tables within a minute or two), then less and less often.
        attempts, plan = plan.attempts, None
    # SNMPv1 agents fail a whole GET for one missing object, and v1 ones rarely have IF-MIB's.
    v1 = target.version == "1"
    scalars = [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, SYS_CONTACT, SYS_LOCATION, IF_NUMBER] + (
        [] if v1 else [IF_TABLE_LAST_CHANGE])
    # The instances the planned CPU and memory methods get ride in the same request.
    planned = plan.gets() if plan is not None and labels is not None else []
    system = await reader.get_many(scalars + [oid for oid in planned if oid not in scalars], required=True)
    now = trio.current_time()
    table = {
        "if_number": int_value(system.get(IF_NUMBER)),
        "last_change": int_value(system.get(IF_TABLE_LAST_CHANGE)),
        "uptime": int_value(system.get(SYS_UPTIME)),
    }
    sys_object_id = system.get(SYS_OBJECT_ID)
    oid = tuple(sys_object_id) if isinstance(sys_object_id, tuple) else ()
    descr = display_text(system.get(SYS_DESCR))
    previous = labels
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
            first = plan.profiles[0] if plan.profiles else None
            plan = attrs.evolve(plan, chassis=await read_chassis(reader), version=await read_version(reader, first, descr))
            if plan.reasons:
                plan = attrs.evolve(plan, retry_at=now + retry_delay(attempts, refresh), attempts=attempts + 1)
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
        lasts = 1.0 if previous is not None else _jitter.uniform(0.5, 1.0)  # InterfaceLabels.lasts
        labels = interface_labels(named, previous, **table, read_at=now, lasts=lasts)
    if not v1:
        needs = fallback_rows(named, labels.rows)
        await reader.read_rows({IF_COLUMNS[name]: rows for name, rows in needs.items()}, if_columns, hint)
        named = by_name(if_columns)

    first = matched[0] if matched else None
    identity = device_identity(first, format_oid(oid), descr, system, plan.chassis, plan.version)
    return DeviceReading(
        sys_descr=descr,
        sys_object_id=format_oid(oid),
        sys_name=display_text(system.get(SYS_NAME)),
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
        identity=identity,
        cpu_reason=plan.reasons.get("cpu"),
        memory_reason=plan.reasons.get("memory"),
        components=metrics["cpu"][2] + metrics["memory"][2],
        # Labels from a partial reading may lack some: read them again next time.
        labels=None if fresh and reader.problems else labels,
        # As with labels: a plan made from a partial reading may miss a method that works.
        plan=None if plan is not used and reader.problems else plan,
    )


SYS_CONTACT: Oid = (1, 3, 6, 1, 2, 1, 1, 4, 0)  # SNMPv2-MIB
SYS_LOCATION: Oid = (1, 3, 6, 1, 2, 1, 1, 6, 0)


def device_identity(
    profile: Profile | None, sys_object_id: str, sys_descr: str, system: Mapping[Oid, Any], chassis: "Chassis | None" = None,
    version: str | None = None,
) -> DeviceIdentity:
    """What the device is, from its most specific profile, its system group and its
    ENTITY-MIB chassis: the model from the profile's pattern on sysDescr, else the chassis'
    entPhysicalModelName; the serial from the chassis; the OS version as read_version found it."""
    specific = profile if profile is not None and not profile.applies_to_all else None
    chassis = chassis or Chassis()
    return DeviceIdentity(
        vendor=(specific.vendor or None) if specific else None,
        model=model_of(specific, sys_descr) or chassis.model,
        serial=chassis.serial,
        os=(specific.os or specific.description or None) if specific else None,
        version=version if specific else None,
        hardware_type=specific.hardware_type_of(sys_descr) if specific else None,
        sys_name=display_text(system.get(SYS_NAME)) or None,
        sys_descr=sys_descr or None,
        sys_object_id=sys_object_id or None,
        location=display_text(system.get(SYS_LOCATION)) or None,
        contact=display_text(system.get(SYS_CONTACT)) or None,
    )


def model_of(profile: Profile | None, sys_descr: str) -> str | None:
    """The model, by the profile's [identity] model pattern on sysDescr (group 1)."""
    if profile is None or profile.model is None:
        return None
    found = profile.model.search(sys_descr)
    return found.group(1).strip() or None if found else None


async def read_version(reader: TableReader, profile: Profile | None, sys_descr: str) -> str | None:
    """The OS version by the profile's [identity] version sources (once per plan: it changes
    only with an upgrade, which reboots the device and so makes the plan again)."""
    if profile is None or profile.applies_to_all or not profile.version:
        return None
    oids = [source.oid for source in profile.version if source.oid is not None]
    got = await reader.get_many(oids) if oids else {}
    return version_of(profile, sys_descr, got)


def version_of(profile: Profile, sys_descr: str, got: Mapping[Oid, Any]) -> str | None:
    """The first version the profile's sources give: from sysDescr, or from an instance got."""
    for source in profile.version:
        if source.oid is None:
            text = sys_descr
        elif source.oid in got:
            text = display_text(got[source.oid])
        else:
            continue
        found = source.version(text)
        if found:
            return found
    return None


# ENTITY-MIB entPhysicalTable columns
ENT_PHYSICAL_CLASS: Oid = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 5)  # 3: chassis
ENT_PHYSICAL_SERIAL_NUM: Oid = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 11)
ENT_PHYSICAL_MODEL_NAME: Oid = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 13)
CHASSIS = 3
# What agents write in entPhysicalSerialNum when they have none.
_NO_SERIAL = {"", "na", "n/a", "none", "unknown", "not available"}


@attrs.frozen
class Chassis:
    """The serial number and model of a device's chassis (ENTITY-MIB: the first row of class
    chassis; a stack's or a multi-chassis system's first member). None: the agent does not say."""

    serial: str | None = None
    model: str | None = None


async def read_chassis(reader: TableReader) -> Chassis:
    """The chassis row: entPhysicalClass walked (once per plan, not every poll), then its
    serial number and model name got."""
    classes: dict[Oid, dict[Index, Any]] = {}
    await reader.walk_columns([ENT_PHYSICAL_CLASS], classes)
    rows = sorted(i for i, v in classes.get(ENT_PHYSICAL_CLASS, {}).items() if v == CHASSIS and len(i) == 1)
    if not rows:
        return Chassis()
    got = await reader.get_many([ENT_PHYSICAL_SERIAL_NUM + rows[0], ENT_PHYSICAL_MODEL_NAME + rows[0]])
    return chassis_of(got.get(ENT_PHYSICAL_SERIAL_NUM + rows[0]), got.get(ENT_PHYSICAL_MODEL_NAME + rows[0]))


def chassis_of(serial: Any, model: Any) -> Chassis:
    """As the agent wrote them, without placeholders ("NA", "N/A", empty)."""
    serial_text, model_text = display_text(serial), display_text(model)
    return Chassis(
        serial=None if serial_text.lower() in _NO_SERIAL else serial_text,
        model=model_text or None,
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
    # What the ENTITY-MIB said of the chassis at that read: it does not change between reads.
    chassis: Chassis = Chassis()
    # The columns naming the rows of cpu and memory (methods' `descr`), as read then: names
    # do not change between reads either, so polls do not read them.
    names: Mapping[Oid, Rows] = attrs.field(factory=dict)
    version: str | None = None  # the OS version, as read at that read
    # Metric -> why no method gave it (what each one tried gave instead).
    reasons: Mapping[str, str] = attrs.field(factory=dict)
    # With a reason: when every method is tried again (Trio clock), and how many times it was.
    retry_at: float | None = None
    attempts: int = 0

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


Metric = tuple[float | None, str | None, tuple[Component, ...]]  # value, the method that gave it, the components it read


async def _read_metrics(
    reader: "TableReader", plan: MetricPlan, scalars: dict[Oid, Any]
) -> tuple[dict[str, Metric] | None, MetricPlan | None]:
    """CPU and memory by a made plan's methods, or (None, None) when one of them gives nothing
    now. A plan not made yet: profile by profile, most specific first, fetch what its methods
    for the metrics still unknown need (concurrently), evaluate them in order; the first value
    wins, and the plan is made of the winners.
    scalars: instances already read (the planned gets, read with the system group)."""
    result: dict[str, Metric] = {"cpu": (None, None, ()), "memory": (None, None, ())}
    columns: dict[Oid, dict[Index, Any]] = {}
    if plan.made:
        await fetch(reader, plan.fetched, scalars, columns, names=False)
        columns.update(plan.names)
        if plan.storage is not None:
            columns.update(plan.pinned_columns(scalars))
        for metric in ("cpu", "memory"):
            method = getattr(plan, metric)
            if method is not None:
                value = evaluate(method, scalars, columns)
                if value is None:
                    return None, None
                result[metric] = (value, method.label, components(method, scalars, columns))
        return result, plan
    chosen: dict[str, Method | None] = {"cpu": None, "memory": None}
    tried: dict[str, list[str]] = {"cpu": [], "memory": []}
    for profile in plan.profiles:
        methods = [m for metric in ("cpu", "memory") if result[metric][0] is None for m in getattr(profile, metric)]
        if not methods:
            continue
        await fetch(reader, methods, scalars, columns)
        for metric in ("cpu", "memory"):
            if result[metric][0] is not None:
                continue
            for method in getattr(profile, metric):
                value, why = assess(method, scalars, columns)
                if value is not None:
                    result[metric] = (value, method.label, components(method, scalars, columns))
                    chosen[metric] = method
                    break
                tried[metric].append(f"{method.label}: {why}")
        if all(v[0] is not None for v in result.values()):
            break
    storage = pinned_storage(chosen["memory"], columns) if chosen["memory"] is not None else None
    reasons = {metric: no_value_reason(metric, plan, tried[metric]) for metric in tried if chosen[metric] is None}
    named = [m for m in chosen.values() if m is not None and m.descr is not None]
    names = {c: columns.get(c, {}) for m in named for c in (*m.name_oids(), m.descr.column)}
    return result, attrs.evolve(plan, made=True, storage=storage, reasons=reasons, names=names, **chosen)


def no_value_reason(metric: str, plan: MetricPlan, tried: Sequence[str]) -> str:
    """Why a device has no value for the metric, in a line: which profiles matched, and what
    each method tried gave instead."""
    vendor = [p.name for p in plan.profiles if not p.applies_to_all]
    oid = format_oid(plan.sys_object_id) or "none"
    head = (f"profile {vendor[0]}" if vendor else f"no device profile matches sysObjectID {oid}; the standard MIBs")
    if not tried:
        return f"{head}: no {metric} method"
    shown = "; ".join(tried[:4]) + (f"; and {len(tried) - 4} more" if len(tried) > 4 else "")
    return f"{head}: no method gave {metric} ({shown})"


RETRY_FIRST = 30.0  # seconds before the second retry of a metric no method gave; doubled each time after


def retry_delay(attempts: int, refresh: float) -> float:
    """When to try every method of a metric again after `attempts` tries that gave nothing: at
    the next poll, then after 30 s, 60 s, ... up to `refresh` (the interface labels' refresh)."""
    if attempts == 0:
        return 0.0
    return min(refresh, RETRY_FIRST * 2 ** (attempts - 1))


async def fetch(
    reader: TableReader, methods: Iterable[Method], scalars: dict[Oid, Any], columns: dict[Oid, dict[Index, Any]],
    names: bool = True,
) -> None:
    """What the methods need (with names: and what names their rows), walked and got in one
    stream of requests: into scalars and columns."""
    walks: list[Oid] = []
    gets: list[Oid] = []
    if not methods:
        return
    for method in methods:
        needed = method.oids() + (method.name_oids() if names else ()) + (HR_STORAGE_COLUMNS if method.kind == "hrstorage" else ())
        for oid in needed:
            if method.walk:
                if oid not in columns and oid not in walks:
                    walks.append(oid)
            elif oid not in scalars and oid not in gets:
                gets.append(oid)

    async def get_all() -> None:
        scalars.update(await reader.get_many(gets))

    async with snmp_nursery() as nursery:
        # All in one stream of requests, whatever their tables: columns of unknown length
        # then share the rows each answer reads past the shortest of them.
        if walks:
            nursery.start_soon(reader.walk_columns, walks, columns)
        if gets:
            nursery.start_soon(get_all)
    await get_lookups(reader, methods, columns, names)


async def get_lookups(reader: TableReader, methods: Iterable[Method], columns: dict[Oid, dict[Index, Any]], names: bool = False) -> None:
    """The instances of other tables' columns that the methods' rows point to (Filter.at),
    got in one stream of requests once the rows are known: never a whole table walked for
    the few rows that count (entPhysicalName of a handful of CPUs among thousands of entities)."""
    wanted: dict[Oid, set[Index]] = {}
    for method in methods:
        lookups = method.lookups(names)
        if not lookups:
            continue
        rows: set[Index] = set()
        for oid in method.oids():
            rows.update(columns.get(oid, {}))
        for f in lookups:
            for index in rows:
                at = pointed(f, index, columns)
                if at is not None and at not in columns.get(f.column, {}):
                    wanted.setdefault(f.column, set()).add(at)
    instances = [column + index for column, indexes in wanted.items() for index in sorted(indexes)]
    if not instances:
        return
    got = await reader.get_many(instances)
    for column, indexes in wanted.items():
        for index in indexes:
            if column + index in got:
                columns.setdefault(column, {})[index] = got[column + index]

