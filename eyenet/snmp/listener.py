"""The Trio edge of notification receiving: one UDP socket, the pure receiver behind it.

Every datagram is handled at once (replies to Informs and Reports go straight back); the
notifications wait in a bounded queue for their consumer, and a flood beyond it is
dropped and counted rather than held. Refused datagrams are counted, and logged at most
once per LOG_EVERY seconds with the counts since, never with a community.
"""

import logging
import socket as _stdsocket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

import attrs
import trio

from eyenet.snmp.datagrams import RECV_BUFFER, receive_forever
from eyenet.snmp.traps import Notification, NotificationReceiver

log = logging.getLogger("eyenet.traps")

LOG_EVERY = 60.0


@attrs.define
class ListenerStats:
    datagrams: int = 0
    notifications: int = 0
    replies: int = 0
    refused: int = 0
    dropped: int = 0  # notifications the consumer was too slow for


class TrapListener:
    """Use as `async with TrapListener.open(receiver, host, port) as listener:`, then
    `async for note in listener.notifications:`."""

    def __init__(self, receiver: NotificationReceiver, sock: _stdsocket.socket, queue: int):
        self.receiver = receiver
        self._sock = sock
        self._send, self.notifications = trio.open_memory_channel[Notification](queue)
        self.stats = ListenerStats()
        self._refusals: Counter[str] = Counter()
        self._logged_at = -LOG_EVERY

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @classmethod
    @asynccontextmanager
    async def open(cls, receiver: NotificationReceiver, host: str = "", port: int = 162, queue: int = 10_000) -> AsyncIterator[Self]:
        family = _stdsocket.AF_INET6 if ":" in host or not host else _stdsocket.AF_INET
        sock = _stdsocket.socket(family, _stdsocket.SOCK_DGRAM)
        with sock:
            sock.setblocking(False)
            # Room for a burst while the loop is busy: the default (~200 KiB) held a few hundred traps.
            sock.setsockopt(_stdsocket.SOL_SOCKET, _stdsocket.SO_RCVBUF, RECV_BUFFER)
            if family == _stdsocket.AF_INET6:
                sock.setsockopt(_stdsocket.IPPROTO_IPV6, _stdsocket.IPV6_V6ONLY, 0)  # "" is every address, v4 and v6
            try:
                sock.bind((host or "::", port))
            except OSError as exc:
                raise OSError(exc.errno, f"cannot listen for traps on [{host or '::'}]:{port}: {exc.strerror}") from None
            listener = cls(receiver, sock, queue)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(receive_forever, sock, listener._handle)
                try:
                    yield listener
                finally:
                    nursery.cancel_scope.cancel()

    def _handle(self, data: bytes, addr: tuple[object, ...]) -> None:
        self.stats.datagrams += 1
        host = str(addr[0]).removeprefix("::ffff:")
        source = (host, int(str(addr[1])))
        now = trio.current_time()
        got = self.receiver.receive(data, source, now)
        if got.reply is not None:
            try:
                self._sock.sendto(got.reply, addr)  # non-blocking: a full buffer drops it, as UDP may
                self.stats.replies += 1
            except (BlockingIOError, OSError):
                pass
        if got.refused is not None:
            self.stats.refused += 1
            self._refusals[f"{host}: {got.refused}"] += 1
            if now - self._logged_at >= LOG_EVERY:
                self._logged_at = now
                log.warning("refused notifications: %s", "; ".join(f"{what} (x{n})" for what, n in self._refusals.most_common(5)))
                self._refusals.clear()
        if got.notification is not None:
            try:
                self._send.send_nowait(got.notification)
                self.stats.notifications += 1
            except trio.WouldBlock:
                self.stats.dropped += 1
