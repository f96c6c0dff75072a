"""Times as requests give them: Unix seconds, or RFC 3339 with an offset."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from eyenet.web.rest.router import ApiError

HISTORY_SPAN = 3600  # seconds of history when the request gives no `from`
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z: the last second a datetime can show


def moment(text: str) -> datetime | None:
    """An RFC 3339 time with its offset; None for anything else (a time without offset is ambiguous)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def unix(value: Any, name: str, code: str) -> int:
    """Unix seconds (an integer, or digits) or an RFC 3339 time, as whole Unix seconds; ApiError(code) otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        seconds = int(value)
    else:
        parsed = moment(value) if isinstance(value, str) else None
        if parsed is None:
            raise ApiError(code, f"{name}: {str(value)[:40]!r} is neither Unix seconds nor an RFC 3339 time with an offset")
        seconds = math.floor(parsed.timestamp())
    if not 0 <= seconds <= MAX_TIME:
        raise ApiError(code, f"{name}: must be between 1970 and 9999")
    return seconds
