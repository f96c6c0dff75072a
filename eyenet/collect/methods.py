"""The CPU and memory methods of device profiles, evaluated: pure functions from the values
an agent gave to a percentage (averages, 100 - idle, used/total, hrStorage pools)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eyenet.collect.identity import display_text
from eyenet.collect.profiles import HR_STORAGE_RAM, Filter, Method
from eyenet.events import Component
from eyenet.snmp.mib import HR_STORAGE_DESCR, HR_STORAGE_SIZE, HR_STORAGE_TYPE, HR_STORAGE_UNITS, HR_STORAGE_USED
from eyenet.snmp.rows import Index, Rows, int_value, text_of
from eyenet.snmp.values import Oid, format_oid

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
    if total is not None and free > total:
        raise Unusable(f"free ({free:g}) exceeds total ({total:g})")
    return used_total(None if total is None else total - free, total)


class Unusable(ValueError):
    """A method's figures that cannot be right (a negative intermediate, a percentage out of
    range): the method gives no value, and this says why."""


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
        unit, used, size = int_value(units.get(index)), int_value(useds.get(index)), int_value(sizes.get(index))
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
    if main_used < reclaim:
        # Agents differ: some count buffers and cache in the RAM row's used, others (newer
        # net-snmp, AOS-CX 10.13) have already taken them off. Not this formula's case.
        raise Unusable(
            f"RAM used ({main_used} bytes) is less than the reclaimable buffers and cache ({reclaim} bytes): "
            "the agent's used already excludes them"
        )
    return used_total(main_used - reclaim, main_size)


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


def _weight(value: float) -> float:
    """A weight is a size: a negative one is an Integer32 size column that overflowed (VRP's
    hwEntityMemSize on boards of 2 GB and more), read as the unsigned number it stands for."""
    return _unsigned32(int(value)) if value < 0 and value >= -(2**31) and value == int(value) else value


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


def pointed(f: Filter, index: Index, columns: Mapping[Oid, Rows]) -> Index | None:
    """The index in the filter column's own table that row `index` points to (Filter.at)."""
    if isinstance(f.at, int):
        return index[f.at - 1: f.at] if len(index) >= f.at else None
    target = int_value(columns.get(f.at, {}).get(index))
    return (target,) if target is not None and target >= 0 else None


def kept_rows(method: Method, columns: Mapping[Oid, Rows], candidates: Iterable[Index]) -> list[Index]:
    """The candidate rows that pass every `where` filter of the method."""
    out = []
    for index in candidates:
        ok = True
        for f in method.where:
            at = index if f.at is None else pointed(f, index, columns)
            if f.column is None:
                row_value = format_oid(index)
            else:
                row_value = None if at is None else columns.get(f.column, {}).get(at)
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
    return assess(method, scalars, columns)[0]


def assess(method: Method, scalars: Mapping[Oid, Any], columns: Mapping[Oid, Rows]) -> tuple[float | None, str | None]:
    """(percentage, None), or (None, why the method gives none): the device has nothing it
    reads, or its figures cannot be right (never clamped into 0..100 beyond rounding)."""
    try:
        result = _evaluate(method, scalars, columns)
    except (Unusable, ArithmeticError) as exc:
        return None, str(exc)
    if result is None:
        return None, f"no answer for {_names(method)}"
    result *= method.scale
    if not (-0.5 <= result <= 100.5):  # rounding slack; beyond it the reading is wrong
        return None, f"gave {result:.6g} %, outside 0-100"
    return min(max(result, 0.0), 100.0), None


def components(method: Method, scalars: Mapping[Oid, Any], columns: Mapping[Oid, Rows]) -> tuple[Component, ...]:
    """The processors or memory pools the method read, each with its own percentage: every
    row of a walked method that gives one (`counted`: kept by its filters, so in the device's
    figure), or the single figure of a method that gets instances. A row the filters leave
    out is listed only where the profile names the rows (`descr`: they are processors or
    pools; an index filter may pick an interval instead) and with a figure above 0 (vendor
    tables give every fan and power supply a row of 0)."""
    kind = "processor" if method.metric == "cpu" else "memory"
    if method.kind != "hrstorage" and not method.walk:
        value = assess(method, scalars, columns)[0]
        return () if value is None else (Component(kind, None, None, value, True, method.label),)
    out = []
    for index, value, counted in _row_values(method, columns):
        if value is None or not -0.5 <= value <= 100.5 or (not counted and (method.descr is None or value <= 0)):
            continue
        out.append(Component(kind, format_oid(index), _descr(method, index, columns), min(max(value, 0.0), 100.0), counted, method.label))
    return tuple(out)


def _row_values(method: Method, columns: Mapping[Oid, Rows]) -> Iterable[tuple[Index, float | None, bool]]:
    """(index, percentage, kept by the filters) for each row of a walked method."""
    if method.kind == "hrstorage":
        types, descrs, units = (columns.get(c, {}) for c in (HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS))
        sizes, useds = columns.get(HR_STORAGE_SIZE, {}), columns.get(HR_STORAGE_USED, {})
        kept = set(kept_rows(method, columns, sizes)) if method.where else set(sizes)
        roles = hrstorage_roles(types, descrs, sizes, name=method.name, reclaimable=method.reclaimable)
        reclaimable = {i for i, role in roles.items() if role == "reclaimable"}
        for index in sorted(i for i, role in roles.items() if role == "main"):  # buffers and cache are no pool
            try:  # as the device's figure: less the reclaimable rows
                percent = hrstorage_percent(types, descrs, units, sizes, useds, name=method.name,
                                            reclaimable=method.reclaimable, keep=reclaimable | {index})
            except Unusable:
                percent = None
            yield index, percent, index in kept
        return
    if method.kind in ("value", "average", "percent", "100-minus"):
        rows = _role_rows(method, "oid", columns)
        kept = set(kept_rows(method, columns, rows))
        for index in sorted(rows):
            value = hundred_minus(rows[index]) if method.kind == "100-minus" else rows[index]
            yield index, value * method.scale, index in kept
        return
    first, second = (_role_rows(method, role, columns) for role in _ROLE_PAIRS[method.kind])
    common = sorted(set(first) & set(second))
    kept = set(kept_rows(method, columns, common))
    for index in common:
        try:
            value = _COMBINE[method.kind](first[index], second[index])
        except Unusable:
            value = None
        yield index, None if value is None else value * method.scale, index in kept


def _descr(method: Method, index: Index, columns: Mapping[Oid, Rows]) -> str | None:
    if method.kind == "hrstorage":
        column, at = HR_STORAGE_DESCR, index
    elif method.descr is None:
        return None
    else:
        column = method.descr.column
        at = index if method.descr.at is None else pointed(method.descr, index, columns)
    return (display_text(columns.get(column, {}).get(at)) or None) if at is not None else None


def _names(method: Method) -> str:
    if method.kind == "hrstorage":
        return "hrStorageTable RAM rows" + (f" named /{method.name.pattern}/" if method.name is not None else "")
    return ", ".join(method.oid_names.get(o, format_oid(o)) for o in method.oids())


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
                weights = [_weight(number(weight_rows[i])) for i in kept]
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
