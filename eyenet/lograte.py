"""At most one log line a minute per kind of event (sans-io: the time is passed in).

What a client, a device or a load can repeat as fast as it likes must not flood the log:
:class:`LogThrottle` lets one line per key through each interval and tells, in the next
line, how many it held back.
"""

from __future__ import annotations

import logging
from typing import Any


class LogThrottle:
    """At most one line per key every `interval` seconds (the time is passed in); the next
    line that passes says how many were held back. Keys are a few fixed names."""

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def admit(self, key: str, now: float) -> int | None:
        """None: hold this line back; else how many lines of `key` were held since the last one."""
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)

    def log(
        self, logger: logging.Logger, now: float, key: str, message: str, *args: Any,
        level: int = logging.WARNING, exc_info: Any = None,
    ) -> bool:
        """Log `message % args` at `level` unless `key` had its line within the interval."""
        held = self.admit(key, now)
        if held is None:
            return False
        if held:
            message += " (%d more like it since the last such line)"
            args = (*args, held)
        logger.log(level, message, *args, exc_info=exc_info)
        return True
