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

from eyenet.events import HARDWARE_TYPES
from eyenet.validate import Check, Invalid, Reader, join

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


class ProfileError(Invalid):
    """One or more problems in profile files; str() lists them, one per line (file: key: reason)."""


@attrs.frozen
class Filter:
    """Keep a row when `column` (None: the row's index, dotted) compares to `value` with `op`.

    `at`: the column is in another table, at the index the row points to: the value of the
    row's column `at` (an Oid: cpmCPUTotalPhysicalIndex -> entPhysicalName), or the row's
    index arc number `at` (an int, from 1: cempMemPoolTable's entPhysicalIndex). Those
    instances are got, not walked."""

    column: Oid | None
    op: str
    value: Any  # int/float for above/below, str/int for (not_)equals, re.Pattern for matches
    at: Oid | int | None = None


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
    # Each row's name as the device gives it, for the components list: a column of the same
    # table (at None) or of another table the row points to (as a Filter's `at`; op unused).
    descr: Filter | None = None
    oid_names: Mapping[Oid, str] = attrs.field(factory=dict, eq=False, repr=False)  # the profile's [oids], for reasons

    def oids(self) -> tuple[Oid, ...]:
        """Every OID this method reads (columns when walk, instances otherwise)."""
        out: list[Oid] = []
        for group in self.sources.values():
            out.extend(group)
        out.extend(f.column for f in self.where if f.column is not None and f.at is None)
        out.extend(f.at for f in self.where if isinstance(f.at, tuple))
        if self.weight is not None:
            out.append(self.weight)
        return tuple(dict.fromkeys(out))

    def name_oids(self) -> tuple[Oid, ...]:
        """The columns walked for the rows' names (`descr`): its own, or the pointer to another table's."""
        if self.descr is None:
            return ()
        return tuple(c for c in (self.descr.column if self.descr.at is None else self.descr.at,) if isinstance(c, tuple))

    def lookups(self, names: bool = False) -> tuple[Filter, ...]:
        """The filters (with names: and the rows' names) on another table's column, got at the
        instances the rows point to."""
        return tuple(f for f in (*self.where, self.descr if names else None) if f is not None and f.at is not None)


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
class VersionSource:
    """Where a family's OS version is: an instance got (oid), else sysDescr; `pattern`'s
    groups, joined by a blank (all of the value when None)."""

    oid: Oid | None
    pattern: re.Pattern | None

    def version(self, value: str) -> str | None:
        if self.pattern is None:
            return value.strip() or None
        found = self.pattern.search(value)
        if not found:
            return None
        return " ".join(g.strip() for g in found.groups() if g and g.strip()) or None


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
    os: str = ""  # the operating system's name, as its vendor writes it
    hardware_type: str | None = None  # what such devices are: one of events.HARDWARE_TYPES
    model: re.Pattern | None = None  # [identity] model: the model in sysDescr (group 1)
    # [identity.types]: hardware type -> sysDescr pattern, the first that matches wins over `type`
    types: tuple[tuple[str, re.Pattern], ...] = ()
    version: tuple[VersionSource, ...] = ()  # [identity] version: tried in order, the first that gives one wins

    def hardware_type_of(self, sys_descr: str) -> str | None:
        for kind, pattern in self.types:
            if pattern.search(sys_descr):
                return kind
        return self.hardware_type

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
    r.raise_problems(ProfileError)
    assert profile is not None  # no profile comes only with problems, raised above
    return profile


def _profile_name(name: str) -> str | None:
    if re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name):
        return None
    return f"{name!r}: use lower-case letters, digits, '-', '_' and '.'"


_TOP = {"profile": Check(), "match": Check(), "oids": Check(), "cpu": Check(), "memory": Check(), "identity": Check()}
_HEAD = {
    "name": Check(str, required=True, test=_profile_name), "vendor": Check(str), "description": Check(str),
    "os": Check(str), "type": Check(str, choices=HARDWARE_TYPES),
}
_MATCH = {"sys_object_id": Check(), "sys_descr": Check()}
# OIDs and patterns take any value here: oid() and pattern() say what is wrong with one.
_METHOD = {
    "method": Check(str, required=True), "read": Check(str, choices=("get", "walk")), "where": Check(),
    "scale": Check(float, gt=0), "regex": Check(), "weight": Check(), "name": Check(), "reclaimable": Check(),
    **{role: Check() for role in ("oid", "used", "free", "total")},
    **{f"{role}_scale": Check(float, gt=0) for role in ("used", "free", "total")},
    "note": Check(str), "descr": Check(), "descr_at": Check(),
}
_FILTER = {
    "column": Check(), "equals": Check(int | str), "not_equals": Check(int | str), "matches": Check(),
    "above": Check(float), "below": Check(float), "at": Check(),
}


class _Reader(Reader):
    """The shared reader, plus the OID names of the file's [oids] table."""

    def __init__(self, source: str):
        super().__init__(source)
        self.file = source  # a profile always comes from a file (Reader's source may be None)
        self.names: dict[str, Oid] = {}

    def each(self, raw: Any, key: str, what: str, item: str):
        """(key, table) for each table of `raw`: one table or a list of them; anything else is reported."""
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            self.problem(key, f"must be {what}")
            return ()
        return self.tables(raw, key, first=1, what=item)

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

    # -- sections -------------------------------------------------------------

    def profile(self, data: dict) -> Profile | None:
        self.table(data, "", _TOP)
        raw_head = data.get("profile")
        if not isinstance(raw_head, dict):
            self.problem("profile", "required table [profile] with at least name = \"...\"")
            raw_head = {}
        head = self.table(raw_head, "profile", _HEAD)

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

        model = None
        identity = data.get("identity", {})
        if not isinstance(identity, dict):
            self.problem("identity", "must be a table such as [identity] model = '...'")
            identity = {}
        self.table(identity, "identity", {"model": Check(), "types": Check(dict), "version": Check()})
        types = []
        for kind, pattern in (identity.get("types") or {}).items():
            if kind not in HARDWARE_TYPES:
                self.problem(f"identity.types.{kind}", f"not a hardware type: use one of {', '.join(HARDWARE_TYPES)}")
            elif (compiled := self.pattern(pattern, f"identity.types.{kind}")) is not None:
                types.append((kind, compiled))
        if "model" in identity:
            model = self.pattern(identity["model"], "identity.model")
            if model is not None and model.groups < 1:
                self.problem("identity.model", "needs one group, ( ), around the model")
        version = self.versions(identity.get("version", []))
        matches = self.matches(data.get("match", []))
        cpu = self.methods(data.get("cpu", []), "cpu", CPU_METHODS)
        memory = self.methods(data.get("memory", []), "memory", MEMORY_METHODS)
        if not cpu and not memory and "cpu" not in data and "memory" not in data:
            self.problem("cpu", "a profile needs at least one [[cpu]] or [[memory]] method")
        return Profile(
            name=head.get("name", ""),
            vendor=head.get("vendor", ""),
            description=head.get("description", ""),
            source=self.file,
            matches=matches,
            cpu=cpu,
            memory=memory,
            oid_names={v: k for k, v in self.names.items()},
            os=head.get("os", ""),
            hardware_type=head.get("type"),
            model=model,
            types=tuple(types),
            version=version,
        )

    def versions(self, raw: Any) -> tuple[VersionSource, ...]:
        """[identity] version: a sysDescr pattern, or a list of { sys_descr = '...' } and
        { oid = "...", regex = '...' } tables, tried in order."""
        if isinstance(raw, str):
            raw = [{"sys_descr": raw}]
        out = []
        for key, entry in self.each(raw, "identity.version", "a sysDescr pattern or a list of tables", "a table"):
            self.table(entry, key, {"sys_descr": Check(), "oid": Check(), "regex": Check()})
            if ("sys_descr" in entry) == ("oid" in entry):
                self.problem(key, "needs sys_descr = '<pattern>' or oid = \"<OID>\" (with an optional regex)")
                continue
            if "sys_descr" in entry and "regex" in entry:
                self.problem(f"{key}.regex", "sys_descr is the pattern already")
                continue
            oid = self.oid(entry["oid"], f"{key}.oid") if "oid" in entry else None
            text = entry.get("sys_descr", entry.get("regex"))
            pattern = None if text is None else self.pattern(text, f"{key}.{'sys_descr' if 'sys_descr' in entry else 'regex'}")
            if pattern is not None and pattern.groups < 1:
                self.problem(key, "the pattern needs a group, ( ), around the version")
                continue
            if (text is not None and pattern is None) or ("oid" in entry and oid is None):
                continue
            out.append(VersionSource(oid, pattern))
        return tuple(out)

    def matches(self, raw: Any) -> tuple[Match, ...]:
        out = []
        for key, clause in self.each(raw, "match", "[[match]] tables", "a table"):
            self.table(clause, key, _MATCH)
            prefixes = clause.get("sys_object_id", [])
            if isinstance(prefixes, str):
                prefixes = [prefixes]
            parsed = []
            if not isinstance(prefixes, list):
                self.problem(f"{key}.sys_object_id", "must be an OID prefix string or a list of them")
                prefixes = []
            for prefix in prefixes:
                oid = self.oid(prefix, f"{key}.sys_object_id")
                if oid is not None:
                    parsed.append(oid)
            descr = None
            if "sys_descr" in clause:
                descr = self.pattern(clause["sys_descr"], f"{key}.sys_descr")
            if not parsed and descr is None and "sys_object_id" not in clause and "sys_descr" not in clause:
                self.problem(key, "needs sys_object_id and/or sys_descr (leave out [[match]] for a profile that applies to every device)")
                continue
            out.append(Match(tuple(parsed), descr))
        return tuple(out)

    def methods(self, raw: Any, metric: str, allowed: tuple[str, ...]) -> tuple[Method, ...]:
        out = []
        for i, (key, entry) in enumerate(self.each(raw, metric, f"[[{metric}]] tables", "a table"), 1):
            method = self.method(entry, metric, allowed, key, f"{self.source} [{metric}] #{i}")
            if method is not None:
                out.append(method)
        return tuple(out)

    def method(self, entry: dict, metric: str, allowed: tuple[str, ...], key: str, label: str) -> Method | None:
        before = len(self.problems)
        v = self.table(entry, key, {**_METHOD, "method": attrs.evolve(_METHOD["method"], choices=allowed)})
        kind = v.get("method")
        if kind is None:
            return None
        where = f"{key}."
        read = v.get("read", _DEFAULT_READ[kind])
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
            for item in values:
                oid = self.oid(item, f"{where}{role}")
                if oid is not None:
                    group.append(oid)
            sources[role] = tuple(group)
        for role in ("oid", "used", "free", "total"):
            if role in entry and role not in roles:
                self.problem(f"{where}{role}", f"not used by method {kind} (it reads: {', '.join(roles) or 'hrStorageTable'})")
        role_scale = {}
        for role in ("used", "free", "total"):
            scale_key = f"{role}_scale"
            if scale_key in entry:
                if role not in roles:
                    self.problem(f"{where}{scale_key}", f"method {kind} has no {role}")
                role_scale[role] = v.get(scale_key, 1.0)
        where_filters = self.filters(entry.get("where", []), key, walk or kind == "hrstorage")
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
        name: re.Pattern | None = None
        reclaimable: re.Pattern | None = None
        for option in ("name", "reclaimable"):
            if option in entry:
                if kind != "hrstorage":
                    self.problem(f"{where}{option}", "only method hrstorage has it")
                elif option == "name":
                    name = self.pattern(entry[option], f"{where}{option}")
                else:
                    reclaimable = self.pattern(entry[option], f"{where}{option}")
        descr = None
        if "descr" in entry:
            column = self.oid(entry["descr"], f"{where}descr")
            at = self.at(entry["descr_at"], f"{where}descr_at") if "descr_at" in entry else None
            if not walk:
                self.problem(f"{where}descr", "names the rows of a walked column: add read = \"walk\"")
            elif column is not None:
                descr = Filter(column, "names", None, at)
        elif "descr_at" in entry:
            self.problem(f"{where}descr_at", "goes with descr")
        if len(self.problems) > before:
            return None
        return Method(
            metric=metric,
            kind=kind,
            sources=sources,
            walk=walk,
            where=where_filters,
            scale=v.get("scale", 1.0),
            role_scale=role_scale,
            regex=regex,
            weight=weight,
            name=name,
            reclaimable=reclaimable,
            label=label,
            oid_names={v: k for k, v in self.names.items()},
            descr=descr,
        )

    def filters(self, raw: Any, method_key: str, walk: bool) -> tuple[Filter, ...]:
        key = join(method_key, "where")
        if raw and not walk and isinstance(raw, (dict, list)):
            self.problem(key, "filters pick rows of walked columns: add read = \"walk\"")
        out = []
        tables = self.each(
            raw, key, "a list of { column = ..., equals = ... } tables",
            'a table such as { column = "...", equals = 2 }',
        )
        for key, f in tables:
            v = self.table(f, key, _FILTER)
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
            if op not in v:  # its problem is reported
                continue
            at = None
            if "at" in f:
                at = self.at(f["at"], f"{key}.at")
                if at is None or column is None:
                    if column is None:
                        self.problem(f"{key}.at", "a row's own index needs no \"at\": give the other table's column")
                    continue
            value = v[op]
            if op == "matches":
                value = self.pattern(value, f"{key}.{op}")
                if value is None:
                    continue
            out.append(Filter(column, op, value, at))
        return tuple(out)

    def at(self, raw: Any, key: str) -> Oid | int | None:
        """A filter's "at": "index.N" (the row's N-th index arc) or a column of pointers."""
        if isinstance(raw, str) and (found := re.fullmatch(r"index\.([1-9][0-9]?)", raw)):
            return int(found.group(1))
        return self.oid(raw, key)


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
