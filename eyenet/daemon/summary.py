"""The one-line summary of a running EyeNet: the STATUS= line systemd shows, and the line
logged every minute (the same, with the polls made since the last one). Pure."""

from __future__ import annotations

import attrs


@attrs.frozen
class Counts:
    """What the app counts at one moment: devices by state, push clients, and polls since start."""

    devices: int
    up: int
    degraded: int
    down: int
    clients: int
    polls: int = 0  # started since EyeNet started
    late_polls: int = 0  # of those, started late past their slot


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _devices(c: Counts) -> str:
    unknown = c.devices - c.up - c.degraded - c.down  # not polled yet
    states = f"{c.up} up, {c.degraded} degraded, {c.down} down" + (f", {unknown} not polled yet" if unknown > 0 else "")
    return f"{_plural(c.devices, 'device')} ({states})"


def status_line(c: Counts) -> str:
    """What `systemctl status` shows: devices by state, and the push clients connected."""
    return f"{_devices(c)}; {_plural(c.clients, 'push client')}"


def period_line(before: Counts, now: Counts, seconds: float) -> str:
    """The status line with the polls started between two counts `seconds` apart, and how
    many of them started late."""
    polls, late = now.polls - before.polls, now.late_polls - before.late_polls
    period = "minute" if seconds == 60 else f"{seconds:g} s"
    return f"{_devices(now)}; {_plural(polls, 'poll')} in the last {period}, {late} late; {_plural(now.clients, 'push client')}"
