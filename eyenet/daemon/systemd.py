"""The sd_notify edge: datagrams to $NOTIFY_SOCKET (the messages are eyenet.daemon.notify's).

Without $NOTIFY_SOCKET (not started by systemd, or not as Type=notify) every send is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import MutableMapping

from eyenet.daemon.notify import ENVIRONMENT, socket_address, watchdog_period

log = logging.getLogger("eyenet.systemd")


class Notifier:
    def __init__(self, address: str | None, watchdog: float | None = None) -> None:
        """address: an AF_UNIX datagram address (None: send nothing); watchdog: seconds
        between two WATCHDOG=1 (None: no watchdog)."""
        self.address = address
        self.watchdog = watchdog if address is not None else None
        self._sock: socket.socket | None = None
        self._failed = False

    @classmethod
    def from_environ(cls, environ: MutableMapping[str, str] | None = None) -> Notifier:
        """The notifier systemd's environment asks for; its variables are taken out of it
        (os.environ by default), so that child processes do not inherit them."""
        environ = os.environ if environ is None else environ
        address = socket_address(environ.get("NOTIFY_SOCKET"))
        watchdog = watchdog_period(environ, os.getpid())
        for name in ENVIRONMENT:
            environ.pop(name, None)
        return cls(address, watchdog)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, data: bytes) -> bool:
        """Send one message now, without waiting; False (logged once) if it could not go."""
        if self.address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto(data, self.address)
        except OSError as exc:
            if not self._failed:
                shown = self.address.replace("\0", "@")
                log.warning("cannot notify the service manager at %s: %s", shown, exc.strerror or exc)
            self._failed = True
            return False
        if self._failed:
            log.info("notifying the service manager works again")
        self._failed = False
        return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
