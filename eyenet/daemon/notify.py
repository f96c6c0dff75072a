"""systemd's notification protocol (sd_notify(3)), sans-io: the messages, and what the
environment a service manager starts us in says about where and how often to send them.

The edge that sends them is eyenet.daemon.systemd; no systemd library is needed: a message
is newline-separated VAR=value assignments in one datagram to $NOTIFY_SOCKET.
"""

from __future__ import annotations

from collections.abc import Mapping

# The variables systemd hands a Type=notify service; taken out of the environment once read,
# as sd_notify's unset_environment does, so child processes do not speak for us.
ENVIRONMENT = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def message(*assignments: str) -> bytes:
    """One datagram of VAR=value lines."""
    return "\n".join(assignments).encode()


def status(text: str) -> str:
    """STATUS= for `systemctl status`: one line (line breaks would end the assignment)."""
    return "STATUS=" + " ".join(text.split())


def ready(summary: str) -> bytes:
    return message("READY=1", status(summary))


def reloading(monotonic_usec: int) -> bytes:
    """Start of a reload (Type=notify-reload asks for the CLOCK_MONOTONIC time with it);
    ready() says it is over."""
    return message("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}")


def stopping(summary: str) -> bytes:
    return message("STOPPING=1", status(summary))


def heartbeat(summary: str, alive: bool) -> bytes:
    """The periodic STATUS=, with WATCHDOG=1 only when `alive`: a service that is not well
    lets the watchdog run out, and systemd restarts it."""
    return message(*(["WATCHDOG=1"] if alive else []), status(summary))


def socket_address(value: str | None) -> str | None:
    """$NOTIFY_SOCKET as an AF_UNIX address: a path, or "@name" in the abstract namespace
    (a leading NUL). None when unset, empty or of a kind not spoken here (vsock:...)."""
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def watchdog_period(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between two WATCHDOG=1: half of $WATCHDOG_USEC (sd_watchdog_enabled(3)),
    or None when there is no watchdog, or it is meant for another process ($WATCHDOG_PID)."""
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = environ.get("WATCHDOG_PID")
    if owner is not None and owner != str(pid):
        return None
    return int(usec) / 2 / 1e6

