"""How the REST shapes are declared: msgspec Structs, one per request body, query and
answer, in the module of their resource. The Struct decodes and checks what comes in
(inputs.py), builds what goes out, and is what /api/openapi.json shows (openapi.py).

msgspec rather than attrs with cattrs: it writes the JSON Schema itself, needs no
other package, and costs least (bench/README.md, "REST shapes": as shipped, a body
is decoded in 0.15x the time of the JSON-schema check it replaced, a list answer
encoded in 0.8-1.0x that of dicts and json).

This module holds the field types the resources share and the shapes derived from
another (all fields optional for a change, all required for an answer).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

S = TypeVar("S", bound=msgspec.Struct)

# The pattern of a field that must match exactly. JSON Schema patterns are ECMA-262
# searches, where ^...$ is the whole string; Python's $ also matches before a final
# newline, so the declaration ends in \Z and the document shows $ (openapi.py).
END = "\\Z"


def exact(pattern: str | re.Pattern[str]) -> str:
    """`^...$` as msgspec must check it: `^...\\Z`."""
    text = pattern if isinstance(pattern, str) else pattern.pattern
    assert text.startswith("^") and text.endswith("$"), text
    return text[:-1] + END


def ecma(pattern: str) -> str:
    """A declared pattern as the document shows it."""
    return pattern[: -len(END)] + "$" if pattern.endswith(END) else pattern


Timestamp = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]  # RFC 3339 in the server's offset
# A device id, tag or interface pattern in a list: not empty, not a novel.
Name = Annotated[str, Meta(min_length=1, max_length=256)]
# The history the poller records (poller.history_samples).
METRIC_PATTERN = r"^(cpu|memory|uptime|bandwidth\.(in|out)|if\.[0-9]{1,10}\.(in|out))$"
Metric = Annotated[str, Meta(
    pattern=exact(METRIC_PATTERN),
    description="cpu, memory, uptime, bandwidth.in, bandwidth.out, or one interface's if.<ifIndex>.in / .out",
)]


def given(value: Any) -> Any:
    """An optional field's value; None when it was not given (UNSET)."""
    return None if value is UNSET else value


def from_json(shape: type[S], data: Mapping[str, Any]) -> S:
    """`shape` built from a domain object's JSON (its to_json or data), without a second
    check of the values; a key the declaration does not have, or lacks, is a bug here."""
    names = _names(shape)
    if len(data) != len(names):
        unexpected = set(data) ^ {json_name for _, json_name in names}
        raise KeyError(f"{shape.__name__} and the JSON it is built from differ in {sorted(unexpected)}")
    return shape(**{name: data[json_name] for name, json_name in names})


@functools.cache
def _names(shape: type[msgspec.Struct]) -> tuple[tuple[str, str], ...]:
    """(attribute, JSON name) of each field; msgspec reads the type hints at every call."""
    return tuple((f.name, f.encode_name) for f in msgspec.structs.fields(shape))


def number(**constraints: Any) -> Any:
    """A JSON number within `constraints` that stays an integer when it is one (30, not 30.0)."""
    return Annotated[int, Meta(**constraints)] | Annotated[float, Meta(**constraints)]


def changes_of(name: str, shape: type[msgspec.Struct], *, without: tuple[str, ...] = (), doc: str) -> type[msgspec.Struct]:
    """`shape` with every field optional (absent: unchanged) and `without` left out: a PATCH body."""
    fields = [
        (f.name, f.type | UnsetType, msgspec.field(name=f.encode_name, default=UNSET))
        for f in msgspec.structs.fields(shape) if f.encode_name not in without
    ]
    return _derived(name, fields, shape, doc)


def answer_of(
    name: str, shape: type[msgspec.Struct], *, before: tuple[tuple[str, Any], ...] = (), after: tuple[tuple[str, Any], ...] = (),
    doc: str,
) -> type[msgspec.Struct]:
    """`shape` with every field required (an answer always carries them all), `before` and
    `after` added as (JSON name, type)."""
    fields = [
        *((n, t, msgspec.field(name=n)) for n, t in before),
        *((f.name, f.type, msgspec.field(name=f.encode_name)) for f in msgspec.structs.fields(shape)),
        *((n, t, msgspec.field(name=n)) for n, t in after),
    ]
    return _derived(name, fields, shape, doc)


def _derived(name: str, fields: list, shape: type[msgspec.Struct], doc: str) -> type[msgspec.Struct]:
    derived = msgspec.defstruct(
        name, fields, forbid_unknown_fields=shape.__struct_config__.forbid_unknown_fields, module=shape.__module__,
    )
    derived.__doc__ = doc
    return derived
