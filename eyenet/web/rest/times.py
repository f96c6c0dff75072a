"""Times as requests give them: Unix seconds, or RFC 3339 with an offset."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from msgspec import Meta

from eyenet.web.rest.errors import ApiError

HISTORY_SPAN = 3600  # seconds of history when the request gives no `from`
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z: the last second a datetime can show

Moment = Annotated[int, Meta(ge=0, le=MAX_TIME)] | Annotated[datetime, Meta(tz=True)]


def seconds(value: int | datetime, name: str, code: str) -> int:
    """A Moment as whole Unix seconds; ApiError(code) for a time before 1970."""
    unix = value if isinstance(value, int) else math.floor(value.timestamp())
    if not 0 <= unix <= MAX_TIME:
        raise ApiError(code, f"{name}: must be between 1970 and 9999")
    return unix
