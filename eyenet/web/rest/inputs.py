"""A request's JSON body and query parameters as the Structs their route declares,
or an ApiError that names the field or parameter and what is wrong with it.

Bodies are decoded by msgspec against the Struct (types, patterns, ranges, unknown
fields), once their nesting is known to be shallow (inbound.check_depth: a body nested
deeper than any shape is refused before a parser recurses into it). Only when that fails is the body parsed again with the json module, to
tell a body that is not JSON we accept (400 INVALID_BODY: not UTF-8, empty, a
syntax error, NaN, 1e999, nested too deeply, not an object, a lone surrogate)
from a JSON object with a wrong field (422 VALIDATION_FAILED), and to take 161.0
for the integer 161 as JSON Schema does (msgspec would not).

Query parameters are text: each is read by the type its Struct field declares
(msgspec.inspect), with the same constraints the document shows for it.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any, TypeVar

import msgspec
from msgspec import inspect

from eyenet.web import inbound
from eyenet.web.http import Request
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.shapes import ecma

JSON = "application/json"
Shape = TypeVar("Shape", bound=msgspec.Struct)

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<where>[^`]*)`)?$", re.DOTALL)
_FIELD = re.compile(r"^Object (?P<kind>missing required|contains unknown) field `(?P<name>[^`]*)`$")
_INTEGER = re.compile(r"^-?[0-9]{1,20}$", re.ASCII)


def body(request: Request, shape: type[Shape]) -> Shape:
    """The body as `shape`; ApiError UNSUPPORTED_MEDIA_TYPE, INVALID_BODY or VALIDATION_FAILED."""
    media_type = (request.header("content-type") or "").partition(";")[0].strip().lower()
    if media_type != JSON:
        given = f", not {media_type}" if media_type else " (no Content-Type was sent)"
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", f"send the body as Content-Type: application/json{given}")
    try:
        inbound.check_depth(request.body)
    except inbound.BeyondBounds as exc:
        raise BodyBeyondBounds(f"the body {exc}") from None
    try:
        return msgspec.json.decode(request.body, type=shape)
    except msgspec.MsgspecError:
        pass
    # The slow path, for a body msgspec refused: say why, or accept 161.0 as the integer
    # JSON Schema takes it for (json's parse, then msgspec's checks of the values).
    problem, value = _parsed(request.body)
    if problem is not None:
        raise ApiError("INVALID_BODY", problem)
    try:
        return msgspec.convert(value, shape)
    except msgspec.ValidationError as exc:
        raise ApiError("VALIDATION_FAILED", _field_problem(str(exc), shape)) from None


class BodyBeyondBounds(ApiError):
    """INVALID_BODY for a body no honest client sends (nested too deeply, too long a number)."""

    def __init__(self, message: str) -> None:
        super().__init__("INVALID_BODY", message)


def _number(text: str) -> float | int:
    """A JSON number with a fraction or exponent. 1.0 is an integer, as JSON Schema has it."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return int(value) if value.is_integer() else value


def _parsed(data: bytes) -> tuple[str | None, Any]:
    """(None, the object) for a JSON object we accept, else (why not, None)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 (byte {exc.start})", None
    if not text.strip():
        return "the body is empty: send a JSON object", None
    try:
        value = inbound.loads(text, parse_float=_number)
    except inbound.BeyondBounds as exc:  # a 5000-digit integer
        raise BodyBeyondBounds(f"the body {exc}") from None
    except json.JSONDecodeError as exc:
        return f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", None
    except ValueError as exc:  # NaN, 1e999, a lone surrogate (valid syntax, but not text the database can store)
        return f"the body is not JSON we accept: {exc}", None
    if not isinstance(value, dict):
        return f"the body must be a JSON object, not {_json_type(value)}", None
    return None, value


def _json_type(value: Any) -> str:
    kinds = ((type(None), "null"), (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "object")


def _field_problem(message: str, shape: type[msgspec.Struct]) -> str:
    """msgspec's "Expected `int` >= 1 - at `$.port`" as "port: expected int >= 1"."""
    found = _AT.match(message)
    what, where = found["what"], (found["where"] or "").lstrip(".")
    if field := _FIELD.match(what):
        name = f"{where}.{field['name']}" if where else field["name"]
        if field["kind"] == "missing required":
            return f"{name}: is required"
        known = ", ".join(f.encode_name for f in msgspec.structs.fields(shape)) if not where else ""
        return f"{name}: unknown field" + (f" (expected one of: {known})" if known else "")
    what = what.replace("\\\\Z'", "$'").replace("`", "")  # the pattern as the document shows it
    return f"{where or 'the body'}: {what[:1].lower()}{what[1:]}"


# -- query parameters --------------------------------------------------------------------------------------


def query(request: Request, shape: type[Shape]) -> Shape:
    """The query parameters as `shape`; ApiError INVALID_PARAMETER naming the first wrong one.
    A parameter the route does not declare is refused: a typo (`severty=critical`) would
    otherwise silently widen the answer."""
    fields = {f.encode_name: f for f in inspect.type_info(shape).fields}
    unknown = sorted(name for name in request.query if name not in fields)
    if unknown:
        raise ApiError("INVALID_PARAMETER", f"{unknown[0][:40]!r}: unknown parameter (known: {', '.join(sorted(fields))})")
    values = {}
    for name, field in fields.items():
        given = request.query.get(name, ())
        if not given:
            if field.required:
                about = _description(field.type)
                raise ApiError("INVALID_PARAMETER", f"{name}: is required" + (f" ({about})" if about else ""))
            continue
        if len(given) > 1:
            raise ApiError("INVALID_PARAMETER", f"{name}: given {len(given)} times; give it once")
        problem, value = _read(field.type, given[0])
        if problem is not None:
            raise ApiError("INVALID_PARAMETER", f"{name}: {problem}")
        values[field.name] = value
    return shape(**values)


def _description(kind: inspect.Type) -> str:
    return kind.extra_json_schema.get("description", "") if isinstance(kind, inspect.Metadata) and kind.extra_json_schema else ""


def _read(kind: inspect.Type, text: str) -> tuple[str | None, Any]:
    """(None, value) for text that is a `kind`, else (what is wrong, None)."""
    if isinstance(kind, inspect.Metadata):
        kind = kind.type
    shown = repr(text[:40])
    if isinstance(kind, inspect.LiteralType):
        if text in kind.values:
            return None, text
        return f"must be one of {', '.join(map(str, kind.values))}, not {shown}", None
    if isinstance(kind, inspect.StrType):
        if kind.min_length is not None and len(text) < kind.min_length:
            return f"must be at least {kind.min_length} characters", None
        if kind.max_length is not None and len(text) > kind.max_length:
            return f"must be at most {kind.max_length} characters", None
        if kind.pattern is not None and not re.search(kind.pattern, text):
            return f"{shown} does not match {ecma(kind.pattern)}", None
        return None, text
    if isinstance(kind, inspect.IntType):
        if _INTEGER.match(text) and _within(kind, int(text)):
            return None, int(text)
        return f"{shown} is not a whole number{_bounds(kind)}", None
    if isinstance(kind, inspect.DateTimeType):
        return _moment(text, shown)
    if isinstance(kind, inspect.UnionType):
        return _either(kind, text, shown)
    raise TypeError(f"no reading of query parameters declared as {kind}")  # a declaration to fix, not bad input


def _within(kind: inspect.IntType, value: int) -> bool:
    return (kind.ge is None or value >= kind.ge) and (kind.le is None or value <= kind.le)


def _bounds(kind: inspect.IntType) -> str:
    if kind.ge is not None and kind.le is not None:
        return f" from {kind.ge} to {kind.le}"
    if kind.ge is not None:
        return f" of at least {kind.ge}"
    return f" of at most {kind.le}" if kind.le is not None else ""


def _moment(text: str, shown: str) -> tuple[str | None, Any]:
    try:
        moment = msgspec.convert(text, datetime)
    except msgspec.ValidationError:
        return f"{shown} is not an RFC 3339 time", None
    if moment.tzinfo is None:
        return f"{shown} is not an RFC 3339 time with an offset", None
    return None, moment


def _either(kind: inspect.UnionType, text: str, shown: str) -> tuple[str | None, Any]:
    """Unix seconds or an RFC 3339 time: the only union a query parameter declares."""
    number = next(t for t in kind.types if isinstance(t, inspect.IntType))
    if _INTEGER.match(text):
        if _within(number, int(text)):
            return None, int(text)
        # Seconds that stand for a time: their range said as the years it spans.
        years = [datetime.fromtimestamp(bound, timezone.utc).year for bound in (number.ge, number.le)]
        return f"must be between {years[0]} and {years[1]}", None
    problem, moment = _moment(text, shown)
    if problem is None:
        return None, moment
    return f"{shown} is neither Unix seconds nor an RFC 3339 time with an offset", None
