"""What clients send, read with bounds: JSON messages and bodies, and event ids (sans-io).

Python's json module recurses once per nested array or object, so ``"[" * 1100`` ends in a
RecursionError, and an integer literal of 5,000 digits in a ValueError from int(); a client
must never be able to make the server raise. Here the nesting depth is measured before
anything is parsed (a scan of the brackets outside strings, skipped when the text holds
fewer brackets than the limit), number literals are bounded in length before they are
converted, and a value that could not be written back as JSON (NaN, an infinity, a lone
surrogate) is refused. Every refusal is a ValueError whose message says what is wrong;
:class:`BeyondBounds`, its subclass, marks input no honest client sends (too deep, too
long a number), which the edges count and log (rate-limited).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

# Nesting of JSON arrays and objects: every message and body of the contract needs at most 4.
MAX_DEPTH = 32
# Characters of one number literal (sign, digits, fraction, exponent): a double needs at most
# 24 to be written exactly; integers of the contract are ids below 2^53 (16 digits).
MAX_NUMBER_CHARS = 40
# Event ids stay below 2^53 (a JavaScript number holds them exactly): at most 16 digits.
EVENT_ID_LIMIT = 2**53
_EVENT_ID = re.compile(r"[0-9]{1,16}", re.ASCII)

# A JSON string (escapes included); what is left outside them is structure and scalars.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_B = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NOT_BRACKET_B = re.compile(rb"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1, ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class BeyondBounds(ValueError):
    """Well-formed perhaps, but nested too deeply or with too long a number."""


def nesting_depth(text: str | bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings do not
    count). Linear in the text, no recursion: safe on any input, valid JSON or not."""
    if isinstance(text, bytes):
        brackets: str | bytes = _NOT_BRACKET_B.sub(b"", _STRING_B.sub(b"", text))
    else:
        brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_depth(text: str | bytes, limit: int = MAX_DEPTH) -> None:
    """BeyondBounds when arrays and objects nest deeper than `limit`."""
    opened = text.count("[") + text.count("{") if isinstance(text, str) else text.count(b"[") + text.count(b"{")
    if opened > limit and nesting_depth(text) > limit:  # the count alone settles almost every message
        raise BeyondBounds(f"is nested too deeply (over {limit} levels of arrays and objects)")


def _long(text: str) -> BeyondBounds:
    return BeyondBounds(f"holds a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _long(text)
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:MAX_NUMBER_CHARS]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str, *, max_depth: int = MAX_DEPTH, parse_float: Callable[[str], Any] = _finite) -> Any:
    """A JSON text from a client as a Python value, within the bounds; ValueError otherwise
    (json.JSONDecodeError for a syntax error, BeyondBounds for input beyond the bounds).

    ``parse_float`` reads a number literal with a fraction or an exponent (after its length
    is checked); the default refuses those that overflow to an infinity."""
    check_depth(text, max_depth)

    def number(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_CHARS:
            raise _long(literal)
        return parse_float(literal)

    value = json.loads(text, parse_int=_integer, parse_float=number, parse_constant=_no_constant)
    if "\\u" in text:  # only an escape can make a lone surrogate: check what can be written back
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("an unpaired surrogate escape (\\ud800-\\udfff) is not text") from None
    return value


def event_id(value: object) -> int | None:
    """An event id a client gives (lastEventId, a recovery offset): an integer or a string of
    ASCII digits, from 0 to below 2^53; None for anything else."""
    if isinstance(value, str):
        if not _EVENT_ID.fullmatch(value):
            return None
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < EVENT_ID_LIMIT:
        return None
    return value
