"""Device profiles: collectors/*.toml -> frozen attrs classes, matched by sysObjectID / sysDescr.

A profile says how to read CPU % and memory % from a kind of device: an ordered
list of methods per metric, each naming numeric OIDs (MIB names beside them, as
the keys of the profile's [oids] table) and how to combine what they return.
The format is documented in docs/profiles.md. This module is pure: loading
reads files, nothing here talks to the network.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

Oid = tuple[int, ...]

PACKAGE = "eyenet.collectors"  # the top-level collectors/ folder, installed as this package

HR_STORAGE_RAM: Oid = (1, 3, 6, 1, 2, 1, 25, 2, 1, 2)  # HOST-RESOURCES-TYPES::hrStorageRam

# method -> (metric it serves, the OID roles it needs, the roles it may have)
CPU_METHODS = ("value", "average", "100-minus")
MEMORY_METHODS = ("percent", "used_total", "used_free", "free_total", "hrstorage")
_ROLES = {
    "value": ("oid",),
    "average": ("oid",),
    "100-minus": ("oid",),
    "percent": ("oid",),
    "used_total": ("used", "total"),
    "used_free": ("used", "free"),
    "free_total": ("free", "total"),
    "hrstorage": (),
}
# The read each method defaults to: "get" one instance, or "walk" a column.
_DEFAULT_READ = {"value": "get", "average": "walk", "100-minus": "get", "percent": "get",
                 "used_total": "get", "used_free": "get", "free_total": "get", "hrstorage": "walk"}
_FILTER_OPS = ("equals", "not_equals", "matches", "above", "below")
_METHOD_KEYS = {"method", "read", "where", "scale", "regex", "weight", "name", "reclaimable",
                "oid", "used", "free", "total", "used_scale", "free_scale", "total_scale", "note"}


class ProfileError(Exception):
    """One or more problems in profile files; str() lists them, one per line (file: key: reason)."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@attrs.frozen
class Filter:
    """Keep a row when `column` (None: the row's index, dotted) compares to `value` with `op`."""

    column: Oid | None
    op: str
    value: Any  # int/float for above/below, str/int for (not_)equals, re.Pattern for matches


@attrs.frozen
class Method:
    """One way to compute a metric. `sources` maps a role (oid, used, free, total) to the
    OIDs read for it (several are summed, row by row); `walk` says whether they are
    columns to walk or instances to get."""

    metric: str  # "cpu" | "memory"
    kind: str
    sources: Mapping[str, tuple[Oid, ...]]
    walk: bool
    where: tuple[Filter, ...] = ()
    scale: float = 1.0
    role_scale: Mapping[str, float] = attrs.field(factory=dict)
    regex: re.Pattern | None = None  # pulls the number out of a string value (group 1)
    weight: Oid | None = None  # column: a weighted average instead of a plain one
    name: re.Pattern | None = None  # hrstorage: the main memory row(s) by hrStorageDescr
    reclaimable: re.Pattern | None = None  # hrstorage: rows (buffers, cache) whose use is not "used"
    label: str = ""  # "file [cpu] #1" for logs and the DeviceReading

    def oids(self) -> tuple[Oid, ...]:
        """Every OID this method reads (columns when walk, instances otherwise)."""
        out: list[Oid] = []
        for group in self.sources.values():
            out.extend(group)
        out.extend(f.column for f in self.where if f.column is not None)
        if self.weight is not None:
            out.append(self.weight)
        return tuple(dict.fromkeys(out))


@attrs.frozen
class Match:
    """All given conditions must hold: sysObjectID under one of the prefixes, sysDescr matching the pattern."""

    sys_object_id: tuple[Oid, ...] = ()
    sys_descr: re.Pattern | None = None

    def score(self, sys_object_id: Oid, sys_descr: str) -> tuple[int, int] | None:
        """None when it does not match; else (length of the prefix matched, 1 if sysDescr was checked)."""
        prefix_len = 0
        if self.sys_object_id:
            hits = [len(p) for p in self.sys_object_id if sys_object_id[: len(p)] == p]
            if not hits:
                return None
            prefix_len = max(hits)
        if self.sys_descr is not None:
            if not self.sys_descr.search(sys_descr):
                return None
        return prefix_len, int(self.sys_descr is not None)


@attrs.frozen
class Profile:
    name: str
    vendor: str
    description: str
    source: str  # the file it came from
    matches: tuple[Match, ...]  # empty: applies to every device (generic)
    cpu: tuple[Method, ...] = ()
    memory: tuple[Method, ...] = ()
    oid_names: Mapping[Oid, str] = attrs.field(factory=dict)  # numeric OID -> MIB name, for messages

    @property
    def applies_to_all(self) -> bool:
        return not self.matches

    def score(self, sys_object_id: Oid, sys_descr: str) -> tuple[int, int] | None:
        if not self.matches:
            return (-1, 0)
        scores = [s for m in self.matches if (s := m.score(sys_object_id, sys_descr)) is not None]
        return max(scores) if scores else None


@attrs.frozen
class ProfileSet:
    profiles: tuple[Profile, ...]

    def by_name(self, name: str) -> Profile:
        for p in self.profiles:
            if p.name == name:
                return p
        raise KeyError(name)

    def match(self, sys_object_id: Oid | str | None, sys_descr: str | None) -> tuple[Profile, ...]:
        return match(self.profiles, sys_object_id, sys_descr)


def match(profiles: Iterable[Profile], sys_object_id: Oid | str | None, sys_descr: str | None) -> tuple[Profile, ...]:
    """The profiles that apply to a device, most specific first, catch-all (generic) ones last.

    Vendor profiles are ordered by the longest sysObjectID prefix they matched, then by
    whether a sysDescr pattern matched too, then by name.
    """
    oid = _as_oid(sys_object_id) if sys_object_id else ()
    descr = sys_descr or ""
    specific, catch_all = [], []
    for p in profiles:
        if p.applies_to_all:
            catch_all.append(p)
            continue
        s = p.score(oid, descr)
        if s is not None:
            specific.append((s, p))
    specific.sort(key=lambda sp: (-sp[0][0], -sp[0][1], sp[1].name))
    return tuple(p for _, p in specific) + tuple(sorted(catch_all, key=lambda p: p.name))


# -- loading ------------------------------------------------------------------


def load_profiles(extra_dir: str | Path | None = None) -> ProfileSet:
    """The packaged profiles plus, if given, every *.toml in extra_dir (a profile there
    with the name of a packaged one replaces it). Raises ProfileError listing every problem."""
    problems: list[str] = []
    loaded: dict[str, Profile] = {}
    package = resources.files(PACKAGE)
    packaged = sorted((e for e in package.iterdir() if e.name.endswith(".toml")), key=lambda e: e.name)
    for entry in packaged:
        _load_into(loaded, f"collectors/{entry.name}", entry.read_text(encoding="utf-8"), problems, override=False)
    if extra_dir is not None:
        directory = Path(extra_dir)
        if not directory.is_dir():
            raise ProfileError([f"{directory}: profile directory: not found or not a directory"])
        for path in sorted(directory.glob("*.toml")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: (file): cannot read: {exc}")
                continue
            _load_into(loaded, str(path), text, problems, override=True)
    if problems:
        raise ProfileError(problems)
    return ProfileSet(tuple(loaded.values()))


def _load_into(loaded: dict[str, Profile], source: str, text: str, problems: list[str], override: bool) -> None:
    try:
        profile = parse_profile(text, source)
    except ProfileError as exc:
        problems.extend(exc.problems)
        return
    if profile.name in loaded and not override:
        problems.append(f"{source}: profile.name: {profile.name!r} is already defined in {loaded[profile.name].source}")
        return
    loaded[profile.name] = profile


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    """One profile from TOML text; ProfileError names the file, the key and the reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError([f"{source}: (syntax): {exc}"]) from None
    r = _Reader(source)
    profile = r.profile(data)
    if r.problems or profile is None:  # no profile comes with its problems
        raise ProfileError(r.problems)
    return profile


class _Reader:
    """Collects every problem of one file instead of stopping at the first."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []
        self.names: dict[str, Oid] = {}

    def problem(self, key: str, reason: str) -> None:
        self.problems.append(f"{self.source}: {key}: {reason}")

    def tables(self, raw: Any, key: str, what: str, item: str):
        """(number, table) for each table of `raw`: one table or a list of them; anything else is reported."""
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            self.problem(key, f"must be {what}")
            return
        for i, entry in enumerate(raw, 1):
            if isinstance(entry, dict):
                yield i, entry
            else:
                self.problem(f"{key}[{i}]", f"must be {item}")

    def unknown(self, data: Mapping, allowed: Iterable[str], where: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(f"{where}{key}", f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def text(self, data: Mapping, key: str, where: str, required: bool = False, default: str = "") -> str:
        if key not in data:
            if required:
                self.problem(f"{where}{key}", "required")
            return default
        value = data[key]
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(f"{where}{key}", f"must be a non-empty string, not {value!r}")
            return default
        return value

    def pattern(self, value: Any, key: str) -> re.Pattern | None:
        if not isinstance(value, str):
            self.problem(key, f"must be a regular expression string, not {value!r}")
            return None
        try:
            return re.compile(value)
        except re.error as exc:
            self.problem(key, f"bad regular expression {value!r}: {exc}")
            return None

    def oid(self, value: Any, key: str) -> Oid | None:
        """A numeric OID ("1.3.6.1...", leading dot allowed) or a name from [oids]."""
        if not isinstance(value, str) or not value.strip():
            self.problem(key, f"must be a numeric OID or a name from [oids], not {value!r}")
            return None
        if value in self.names:
            return self.names[value]
        parsed = _parse_numeric(value)
        if parsed is None:
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", value):
                self.problem(key, f"{value!r} is not defined in [oids] (give its numeric OID there; no MIB is loaded)")
            else:
                self.problem(key, f"bad OID {value!r}: use numbers separated by dots, starting 0, 1 or 2")
        return parsed

    def number(self, data: Mapping, key: str, where: str, default: float) -> float:
        if key not in data:
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            self.problem(f"{where}{key}", f"must be a positive number, not {value!r}")
            return default
        return float(value)

    # -- sections -------------------------------------------------------------

    def profile(self, data: dict) -> Profile | None:
        self.unknown(data, ("profile", "match", "oids", "cpu", "memory"), "")
        head = data.get("profile")
        if not isinstance(head, dict):
            self.problem("profile", "required table [profile] with at least name = \"...\"")
            head = {}
        self.unknown(head, ("name", "vendor", "description"), "profile.")
        name = self.text(head, "name", "profile.", required=True)
        if name and not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name):
            self.problem("profile.name", f"{name!r}: use lower-case letters, digits, '-', '_' and '.'")
        vendor = self.text(head, "vendor", "profile.", default="")
        description = self.text(head, "description", "profile.", default="")

        oids = data.get("oids", {})
        if not isinstance(oids, dict):
            self.problem("oids", "must be a table of MIB name = \"numeric OID\"")
            oids = {}
        for key, value in oids.items():
            parsed = _parse_numeric(value) if isinstance(value, str) else None
            if parsed is None:
                self.problem(f"oids.{key}", f"must be a numeric OID string such as \"1.3.6.1.2.1.1.3.0\", not {value!r}")
            else:
                self.names[key] = parsed

        matches = self.matches(data.get("match", []))
        cpu = self.methods(data.get("cpu", []), "cpu", CPU_METHODS)
        memory = self.methods(data.get("memory", []), "memory", MEMORY_METHODS)
        if not cpu and not memory and "cpu" not in data and "memory" not in data:
            self.problem("cpu", "a profile needs at least one [[cpu]] or [[memory]] method")
        return Profile(
            name=name,
            vendor=vendor,
            description=description,
            source=self.source,
            matches=matches,
            cpu=cpu,
            memory=memory,
            oid_names={v: k for k, v in self.names.items()},
        )

    def matches(self, raw: Any) -> tuple[Match, ...]:
        out = []
        for i, clause in self.tables(raw, "match", "[[match]] tables", "a table"):
            where = f"match[{i}]."
            self.unknown(clause, ("sys_object_id", "sys_descr"), where)
            prefixes = clause.get("sys_object_id", [])
            if isinstance(prefixes, str):
                prefixes = [prefixes]
            parsed = []
            if not isinstance(prefixes, list):
                self.problem(f"{where}sys_object_id", "must be an OID prefix string or a list of them")
                prefixes = []
            for prefix in prefixes:
                oid = self.oid(prefix, f"{where}sys_object_id")
                if oid is not None:
                    parsed.append(oid)
            descr = None
            if "sys_descr" in clause:
                descr = self.pattern(clause["sys_descr"], f"{where}sys_descr")
            if not parsed and descr is None and "sys_object_id" not in clause and "sys_descr" not in clause:
                self.problem(f"match[{i}]", "needs sys_object_id and/or sys_descr (leave out [[match]] for a profile that applies to every device)")
                continue
            out.append(Match(tuple(parsed), descr))
        return tuple(out)

    def methods(self, raw: Any, metric: str, allowed: tuple[str, ...]) -> tuple[Method, ...]:
        out = []
        for i, entry in self.tables(raw, metric, f"[[{metric}]] tables", "a table"):
            where = f"{metric}[{i}]."
            method = self.method(entry, metric, allowed, where, f"{self.source} [{metric}] #{i}")
            if method is not None:
                out.append(method)
        return tuple(out)

    def method(self, entry: dict, metric: str, allowed: tuple[str, ...], where: str, label: str) -> Method | None:
        before = len(self.problems)
        self.unknown(entry, _METHOD_KEYS, where)
        kind = entry.get("method")
        if kind not in allowed:
            self.problem(f"{where}method", f"must be one of {', '.join(allowed)} for {metric}, not {kind!r}")
            return None
        read = entry.get("read", _DEFAULT_READ[kind])
        if read not in ("get", "walk"):
            self.problem(f"{where}read", f"must be \"get\" (one instance each) or \"walk\" (columns), not {read!r}")
            read = _DEFAULT_READ[kind]
        walk = read == "walk"
        if kind == "average" and not walk:
            self.problem(f"{where}read", "method average reads a column: read must be \"walk\"")
        if kind == "hrstorage" and "read" in entry and not walk:
            self.problem(f"{where}read", "method hrstorage walks hrStorageTable: leave read out")
        roles = _ROLES[kind]
        sources: dict[str, tuple[Oid, ...]] = {}
        for role in roles:
            if role not in entry:
                self.problem(f"{where}{role}", f"required by method {kind}")
                continue
            value = entry[role]
            values = value if isinstance(value, list) and role != "oid" else [value]
            if not values:
                self.problem(f"{where}{role}", "must name at least one OID")
            group = []
            for v in values:
                oid = self.oid(v, f"{where}{role}")
                if oid is not None:
                    group.append(oid)
            sources[role] = tuple(group)
        for role in ("oid", "used", "free", "total"):
            if role in entry and role not in roles:
                self.problem(f"{where}{role}", f"not used by method {kind} (it reads: {', '.join(roles) or 'hrStorageTable'})")
        role_scale = {}
        for role in ("used", "free", "total"):
            key = f"{role}_scale"
            if key in entry:
                if role not in roles:
                    self.problem(f"{where}{key}", f"method {kind} has no {role}")
                role_scale[role] = self.number(entry, key, where, 1.0)
        where_filters = self.filters(entry.get("where", []), where, walk or kind == "hrstorage")
        regex = None
        if "regex" in entry:
            regex = self.pattern(entry["regex"], f"{where}regex")
            if regex is not None and regex.groups < 1:
                self.problem(f"{where}regex", "needs one group, ( ), around the number")
        weight = None
        if "weight" in entry:
            if kind not in ("average", "percent", "100-minus") or not walk:
                self.problem(f"{where}weight", "only an average over a walked column (average, percent, 100-minus with read = \"walk\") has weights")
            weight = self.oid(entry["weight"], f"{where}weight")
        name = reclaimable = None
        for key in ("name", "reclaimable"):
            if key in entry:
                if kind != "hrstorage":
                    self.problem(f"{where}{key}", "only method hrstorage has it")
                elif key == "name":
                    name = self.pattern(entry[key], f"{where}{key}")
                else:
                    reclaimable = self.pattern(entry[key], f"{where}{key}")
        if "note" in entry and not isinstance(entry["note"], str):
            self.problem(f"{where}note", "must be a string")
        scale = self.number(entry, "scale", where, 1.0)
        if len(self.problems) > before:
            return None
        return Method(
            metric=metric,
            kind=kind,
            sources=sources,
            walk=walk,
            where=where_filters,
            scale=scale,
            role_scale=role_scale,
            regex=regex,
            weight=weight,
            name=name,
            reclaimable=reclaimable,
            label=label,
        )

    def filters(self, raw: Any, where: str, walk: bool) -> tuple[Filter, ...]:
        if raw and not walk and isinstance(raw, (dict, list)):
            self.problem(f"{where}where", "filters pick rows of walked columns: add read = \"walk\"")
        out = []
        tables = self.tables(
            raw, f"{where}where", "a list of { column = ..., equals = ... } tables",
            'a table such as { column = "...", equals = 2 }',
        )
        for i, f in tables:
            key = f"{where}where[{i}]"
            self.unknown(f, ("column", *_FILTER_OPS), f"{key}.")
            ops = [op for op in _FILTER_OPS if op in f]
            if len(ops) != 1:
                self.problem(key, f"needs exactly one of {', '.join(_FILTER_OPS)}")
                continue
            op = ops[0]
            if "column" not in f:
                self.problem(f"{key}.column", "required: the column to compare, or \"index\" for the row's index")
                continue
            column = None
            if f["column"] != "index":
                column = self.oid(f["column"], f"{key}.column")
                if column is None:
                    continue
            value = f[op]
            if op == "matches":
                value = self.pattern(value, f"{key}.{op}")
                if value is None:
                    continue
            elif op in ("above", "below"):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    self.problem(f"{key}.{op}", f"must be a number, not {value!r}")
                    continue
            elif isinstance(value, bool) or not isinstance(value, (int, str)):
                self.problem(f"{key}.{op}", f"must be an integer or a string, not {value!r}")
                continue
            out.append(Filter(column, op, value))
        return tuple(out)


def _parse_numeric(text: str) -> Oid | None:
    body = text.strip()
    if body.startswith("."):
        body = body[1:]
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", body):
        return None
    arcs = tuple(int(a) for a in body.split("."))
    if arcs[0] > 2 or (len(arcs) > 1 and arcs[0] < 2 and arcs[1] > 39) or any(a > 0xFFFFFFFF for a in arcs):
        return None
    return arcs


def _as_oid(value: Oid | str) -> Oid:
    if isinstance(value, str):
        return _parse_numeric(value) or ()
    return tuple(value)


def format_oid(oid: Sequence[int]) -> str:
    return ".".join(map(str, oid))
