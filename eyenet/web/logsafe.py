"""What the web front may write to the log: no secret a client sent, and no flood (sans-io).

A token travels in a query string (``/ws?token=<JWT>``), in headers and in Socket.IO
packets; an Engine.IO ``sid`` in a query string is a session's key too. So a request
target is logged with its query values replaced (:func:`redact_target`), and the loggers
of the web package (:func:`guarded_logger`) pass every line and traceback through
:func:`redact`, which also masks anything shaped like a JWT or JWE wherever it appears.

A client can repeat what gets logged as fast as it can send: the front's lines go through
a :class:`~eyenet.lograte.LogThrottle`.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# A compact JWS/JWE: base64url segments, the first a JSON object ('{"' is "eyJ"); cut short
# too (an excerpt of a packet may end inside one).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)*")
# A query parameter's value in a URL: ?name=value or &name=value.
_QUERY_VALUE = re.compile(r"([?&][^=&#\s'\"]*=)[^&#\s'\"]*")


def redact(text: str) -> str:
    """`text` with JWT-shaped strings and the values of URL query parameters masked."""
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if "=" in text:
        text = _QUERY_VALUE.sub(r"\1" + REDACTED, text)
    return text


def redact_target(target: str) -> str:
    """A request target as it may be logged: the path, and the query's names without their values."""
    path, mark, query = target.partition("?")
    if not mark:
        return redact(path)
    names = (part.partition("=")[0] for part in query.split("&") if part)
    return redact(path) + "?" + "&".join(f"{name[:40]}={REDACTED}" for name in names)


class RedactingFilter(logging.Filter):
    """Passes every record on with its message and traceback redacted (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


def guarded_logger(name: str) -> logging.Logger:
    """The logger `name`, redacting what it is given (a filter on a logger sees the records
    made through it, so each logger of the web package is guarded by name)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
