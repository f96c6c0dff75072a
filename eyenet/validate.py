"""Reading untrusted tables (a TOML file, a JSON body) against declared fields, naming every problem.

A field is declared once, with `field()` on an attrs class: its default, and what a value
for it must be (the type from its annotation; bounds, choices and a custom test from the
call). The same checks, less the type, run when the class is built in code.

`Reader` checks a table against such a class (`fields`) or against a plain {key: Check}
(`table`, for shapes that are not one class) and goes on after a problem: each one is kept
with its key path ("web.port", "webhooks[2].url"), and the caller, after its own checks
across keys, raises one error listing them all (`raise_problems`). Pure: no I/O.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import attrs

# The reason a value is wrong, or None when it is fine.
Test = Callable[[Any], "str | None"]

_META = "eyenet.validate"
_NONE = type(None)


class Invalid(Exception):
    """Input that cannot be used; `problems` holds every reason ("where: key: reason")."""

    separator = "\n"

    def __init__(self, problems: list[str]):
        super().__init__(self.separator.join(problems))
        self.problems = problems


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


# What Reader.value returns for a value it reported as wrong.
INVALID: Any = _Invalid()


@attrs.frozen
class Problem:
    key: str  # "web.port", "webhooks[2].headers.X-Token"; "" for the input as a whole
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}" if self.key else self.reason


@attrs.frozen
class Check:
    """What a value read for one key must be.

    `type` is an annotation: bool, int, float (an int is taken too), str, list, dict,
    X | None (None passes: JSON null), tuple[str, ...] or frozenset[str] (read from a list
    of non-empty strings), dict[str, X] (a table: each entry checked on its own, and the
    good ones kept); object takes anything."""

    type: Any = object
    required: bool = False
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    unit: str = ""  # " seconds": how bound messages name the number
    choices: Sequence[str] | None = None  # for a string, each list item, each table value
    keys: Collection[str] | None = None  # a table's keys
    test: Test | None = None  # anything else, on the value once its type is right
    secret: bool = False  # never quote the value in a message


def field(
    default: Any = attrs.NOTHING,
    *,
    factory: Callable[[], Any] | None = None,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    unit: str = "",
    choices: Sequence[str] | None = None,
    keys: Collection[str] | None = None,
    test: Test | None = None,
    converter: Callable[[Any], Any] | None = None,
    repr: bool | Callable[[Any], str] = True,
    hash: bool | None = None,
) -> Any:
    """An attrs field with its checks (see Check). No default: the key is required. A field
    kept out of repr (a credential) is never quoted in a message either."""
    check = Check(
        gt=gt, ge=ge, le=le, unit=unit, choices=None if choices is None else tuple(choices),
        keys=None if keys is None else tuple(keys), test=test, secret=repr is not True,
    )
    return attrs.field(
        default=default, factory=factory, validator=_in_code, converter=converter, repr=repr, hash=hash,
        metadata={_META: check},
    )


def _in_code(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None:
        for key, reason in _value_problems(attribute.metadata[_META], value):
            raise ValueError(f"{join(attribute.name, key)}: {reason}")


@functools.cache
def declared(cls: type) -> dict[str, Check]:
    """attribute name -> Check of an attrs class's fields, each with its annotation as type."""
    hints = typing.get_type_hints(cls)
    out = {}
    for a in attrs.fields(cls):
        if a.init:
            check = a.metadata.get(_META) or Check(secret=a.repr is not True)
            out[a.name] = attrs.evolve(check, type=hints[a.name], required=a.default is attrs.NOTHING)
    return out


def join(key: str, name: object) -> str:
    """The path of `name` under `key`; either may be "" (the top, the value itself)."""
    return f"{key}.{name}" if key and name != "" else key or str(name)


class Reader:
    """Collects every problem of one input instead of stopping at the first.
    source: what messages start with (a file name); None for a request body."""

    def __init__(self, source: str | None = None):
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, key: str, reason: str) -> None:
        self.problems.append(Problem(key, reason))

    def messages(self) -> list[str]:
        return [str(p) if self.source is None else f"{self.source}: {p}" for p in self.problems]

    def raise_problems(self, error: type[Invalid]) -> None:
        if self.problems:
            raise error(self.messages())

    def fields(
        self, cls: type, data: Mapping[str, Any], key: str = "", *, names: Mapping[str, str] | None = None,
        exclude: Collection[str] = (), partial: bool = False,
    ) -> dict[str, Any]:
        """`data` read as keyword arguments for the attrs class `cls` (only the good ones).
        names: attribute -> key where they differ (a JSON body's camelCase); exclude:
        attributes that are no key here; partial: nothing is required (a change)."""
        names = names or {}
        spec, attribute = {}, {}
        for name, check in declared(cls).items():
            if name not in exclude:
                external = names.get(name, name)
                spec[external] = attrs.evolve(check, required=check.required and not partial)
                attribute[external] = name
        return {attribute[k]: v for k, v in self.table(data, key, spec).items()}

    def table(self, data: Mapping[str, Any], key: str, spec: Mapping[str, Check]) -> dict[str, Any]:
        """The keys of `data` whose values pass their Check, converted (a list read for a tuple
        becomes one); a problem for each missing required key, unknown key and bad value."""
        for name, check in spec.items():
            if check.required and name not in data:
                self.problem(join(key, name), "is required")
        out = {}
        for name, value in data.items():
            found = spec.get(name)
            if found is None:
                self.problem(join(key, name), f"unknown key (expected one of: {', '.join(sorted(spec))})")
                continue
            value = self.value(join(key, name), value, found)
            if value is not INVALID:
                out[name] = value
        return out

    def tables(self, raw: Sequence[Any], key: str, *, first: int = 0, what: str = "a table") -> Iterator[tuple[str, Mapping]]:
        """(key, table) for each table of the list `raw`; anything else in it is a problem."""
        for n, entry in enumerate(raw, first):
            if isinstance(entry, Mapping):
                yield f"{key}[{n}]", entry
            else:
                self.problem(f"{key}[{n}]", f"must be {what}")

    def value(self, key: str, value: Any, check: Check) -> Any:
        """`value` converted, or INVALID once its problems are reported."""
        value = self._typed(key, value, check.type, check)
        if value is INVALID or value is None:
            return value
        good = True
        for sub, reason in list(_value_problems(check, value)):
            self.problem(join(key, sub), reason)
            if sub:
                del value[sub]  # one entry of a table (a copy): the others stay good
            else:
                good = False
        return value if good else INVALID

    def _typed(self, key: str, value: Any, tp: Any, check: Check) -> Any:
        options = _options(tp)
        if value is None and _NONE in options:
            return None
        tp = next((t for t in options if t is not _NONE and _is(t, value)), None)
        if tp is None:
            names = " or ".join(dict.fromkeys(_name(t) for t in options if t is not _NONE))
            self.problem(key, f"must be {names}, not {type(value).__name__}{_quoted(value, check)}")
            return INVALID
        kind, args = typing.get_origin(tp) or tp, typing.get_args(tp)
        if kind is float:
            if not math.isfinite(value):
                self.problem(key, "must be a finite number")
                return INVALID
            return float(value)
        if _is_sequence(kind) and kind is not list:
            if args and args[0] is str:
                if not all(isinstance(item, str) for item in value):
                    self.problem(key, "must be a list of strings")
                    return INVALID
                if not all(item.strip() for item in value):
                    self.problem(key, "must be a list of non-empty strings")
                    return INVALID
            return kind(value)
        if _is_mapping(kind):
            if not args:
                return dict(value)
            typed = {name: self._typed(join(key, name), item, args[1], check) for name, item in value.items()}
            return {name: item for name, item in typed.items() if item is not INVALID}
        return value


def _value_problems(check: Check, value: Any) -> Iterator[tuple[str, str]]:
    """(key under the value's, reason) for what a typed value breaks: bounds, choices, keys, test."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (reason := _bounds(check, value)) is not None:
            yield "", reason
    if isinstance(value, Mapping):
        for name, item in value.items():
            if check.keys is not None and name not in check.keys:
                yield str(name), f"unknown key (expected one of: {', '.join(sorted(check.keys))})"
            elif check.choices is not None and item not in check.choices:
                yield str(name), f"must be one of {', '.join(check.choices)}, not {item!r}"
    elif check.choices is not None:
        if isinstance(value, str):
            if value not in check.choices:
                quoted = _quoted(value, check)
                yield "", f"must be one of {', '.join(check.choices)}" + (f", not{quoted}" if quoted else "")
        elif unknown := sorted(set(value) - set(check.choices)):
            yield "", f"unknown {unknown}: use some of {', '.join(check.choices)}"
    if check.test is not None and (reason := check.test(value)) is not None:
        yield "", reason


def _bounds(check: Check, value: float) -> str | None:
    gt, ge, le, unit = check.gt, check.ge, check.le, check.unit
    if (gt is None or value > gt) and (ge is None or value >= ge) and (le is None or value <= le):
        return None
    if le is not None:
        if gt is not None:
            return f"must be more than {_num(gt)} and at most {_num(le)}{unit}"
        if ge is not None:
            return f"must be {_num(ge)} to {_num(le)}{unit}"
        return f"must be at most {_num(le)}{unit}"
    if gt is not None:
        return f"must be greater than {_num(gt)}{unit}"
    return f"must be {_num(ge)} or more{unit}"


def _num(x: float | None) -> str:  # None only where no bound is set, which is never shown
    assert x is not None
    return str(int(x)) if float(x).is_integer() else str(x)


def _quoted(value: Any, check: Check) -> str:
    """ 'value' for a message: cut short (a request body may be large); nothing for a secret."""
    if check.secret:
        return ""
    text = repr(value)
    return f" {text[:80]}..." if len(text) > 80 else f" {text}"


def _options(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _is_sequence(kind: Any) -> bool:
    return kind in (list, tuple, frozenset, set, Sequence)


def _is_mapping(kind: Any) -> bool:
    return kind in (dict, Mapping)


def _is(tp: Any, value: Any) -> bool:
    kind = typing.get_origin(tp) or tp
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if _is_sequence(kind):
        return isinstance(value, (list, tuple))
    if _is_mapping(kind):
        return isinstance(value, Mapping)
    return kind in (object, Any) or isinstance(value, kind)


def _name(tp: Any) -> str:
    kind = typing.get_origin(tp) or tp
    if kind is float:
        return "int or float"
    if _is_sequence(kind):
        return "list"
    if _is_mapping(kind):
        return "dict"
    return kind.__name__


# -- tests several declarations share ---------------------------------------------------------


def not_empty(value: Any) -> str | None:
    return None if (value.strip() if isinstance(value, str) else value) else "must not be empty"


def port(protocol: str, lowest: int = 1) -> Test:
    """A TCP or UDP port number; `lowest` 0 where 0 means "any free port"."""

    def test(value: int) -> str | None:
        return None if lowest <= value <= 65535 else f"{value} is not a {protocol} port ({lowest}-65535)"

    return test
