"""How EyeNet's log lines look: text or JSON lines, and under systemd with the syslog
priority prefix (`<6>` for INFO, ...) by which the journal keeps each line's level.

Pure formatting: the command line (eyenet.cli) decides where the lines go and whether
stderr is the journal.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import TextIO

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
FORMATS = ("text", "json")
# syslog(3) priorities, which journald reads from a "<N>" at the start of a line (SyslogLevelPrefix=).
_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
DEBUG_PRIORITY = 7


def priority(level: int) -> int:
    return next((p for at_least, p in _PRIORITY if level >= at_least), DEBUG_PRIORITY)


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, and the
    traceback as one string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class Journal(logging.Formatter):
    """Another formatter's lines, each with the record's syslog priority in front (every
    line of a traceback too: the journal stores each line as an entry of its own)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in self.inner.format(record).split("\n"))


def formatter(fmt: str, journal: bool) -> logging.Formatter:
    """fmt: "text" or "json"; journal: the lines go to the journal, which adds its own time."""
    if fmt == "json":
        inner: logging.Formatter = JsonLines()
    elif journal:
        inner = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    return Journal(inner) if journal else inner


def on_journal(journal_stream: str | None, device: int, inode: int) -> bool:
    """Is the stream with this device and inode the one systemd connected to the journal
    ($JOURNAL_STREAM is "device:inode")? A redirection by hand makes it another."""
    if not journal_stream:
        return False
    dev, _, ino = journal_stream.partition(":")
    return dev.isdigit() and ino.isdigit() and (int(dev), int(ino)) == (device, inode)


def configure(level: str, fmt: str, journal: bool, stream: TextIO) -> None:
    """The root logger's one handler, writing to `stream` (replacing any set before)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(fmt, journal))
    logging.basicConfig(level=LEVELS[level], handlers=[handler], force=True)
