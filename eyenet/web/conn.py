"""One TCP connection of the web front: writes that never wait for a slow peer.

Why: a broadcast writes the same pre-built frame to every client. Awaiting a
stream's send for each client costs about ten times the CPU of calling
``socket.send`` right away and queueing only what the kernel does not take
(ARCHITECTURE.md, "Push and API"). So the socket is a plain non-blocking stdlib
socket: ``send_nowait`` writes synchronously, the rest goes to a per-connection
backlog that a writer task drains when the socket becomes writable. The backlog
is bounded: a client that does not read is dropped, it never delays the others
nor grows our memory without bound.

TLS runs through ``ssl.SSLObject`` over memory BIOs, so that encrypting is
synchronous too and the ciphertext takes the same non-blocking path; the
handshake and decryption are driven by the reader.
"""

from __future__ import annotations

import collections
import itertools
import socket
import ssl
import struct
from contextlib import contextmanager
from typing import Awaitable, Callable

import trio

RECEIVE_SIZE = 65536
# Buffers handed to one sendmsg() call when draining the backlog (many small frames, one syscall).
SENDMSG_BUFFERS = 64
# aclose() waits at most this long for the peer to take what is queued, then resets.
CLOSE_DRAIN_TIMEOUT = 10.0

Spawn = Callable[[Callable[[], Awaitable[None]]], None]


class Connection:
    """A non-blocking socket with a bounded outbound backlog, optionally TLS.

    ``spawn`` starts a task in a nursery that outlives the connection (the
    server's): the writer task exists only while there is a backlog, so an idle
    connection costs no task. One task at a time may call ``receive_some``.

    Errors: ``receive_some`` and ``send_all`` raise ``trio.ClosedResourceError``
    after ``aclose``/``abort`` and ``trio.BrokenResourceError`` when the peer
    reset, TLS failed or the backlog overflowed; ``broken`` says which.
    """

    __slots__ = (
        "_sock", "_spawn", "_limit", "_low_water", "_backlog", "_queued", "_sent", "_awaited_end",
        "_writing", "_drained", "_closed", "_ssl", "_in", "_out", "_handshaken", "broken",
    )

    def __init__(
        self,
        sock: socket.socket,
        spawn: Spawn,
        *,
        ssl_context: ssl.SSLContext | None = None,
        backlog_limit: int = 1_048_576,
        low_water: int | None = None,
    ) -> None:
        self._sock = sock
        self._spawn = spawn
        self._limit = backlog_limit
        self._low_water = backlog_limit // 4 if low_water is None else low_water
        self._backlog: collections.deque[bytes | memoryview] = collections.deque()
        # Byte counters since the start: backlog = queued - sent. Bytes up to
        # _awaited_end were queued by send_all, whose caller waits for them, so
        # they do not count against the limit that bounds non-waiting senders.
        self._queued = 0
        self._sent = 0
        self._awaited_end = 0
        self._writing = False
        self._drained: trio.Event | None = None
        self._closed = False
        self.broken: str | None = None
        if ssl_context is None:
            self._ssl = self._in = self._out = None
        else:
            self._in = ssl.MemoryBIO()
            self._out = ssl.MemoryBIO()
            self._ssl = ssl_context.wrap_bio(self._in, self._out, server_side=True)
        self._handshaken = ssl_context is None

    @property
    def backlog(self) -> int:
        """Bytes queued and not yet taken by the kernel (ciphertext under TLS)."""
        return self._queued - self._sent

    @property
    def closed(self) -> bool:
        return self._closed

    # -- reading ---------------------------------------------------------------

    async def receive_some(self, max_bytes: int = RECEIVE_SIZE) -> bytes:
        """The next bytes from the peer (plaintext under TLS); b"" at end of stream."""
        if self._ssl is None:
            return await self._receive_raw(max_bytes)
        while True:
            try:
                if not self._handshaken:
                    self._ssl.do_handshake()
                    self._handshaken = True
                data = self._ssl.read(max_bytes)
                self._flush_tls()  # a read can produce output (key updates)
                return data
            except ssl.SSLWantReadError:
                self._flush_tls()  # handshake messages, session tickets
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""  # close_notify, or a peer that just closed the socket
            except ssl.SSLError as exc:
                self._flush_tls()  # the alert that tells the peer why, then FIN (not a reset)
                if not self._closed:
                    self.broken = f"TLS error: {exc.reason or exc}"
                    self._close_socket()
                raise trio.BrokenResourceError(self.broken) from exc
            raw = await self._receive_raw(max_bytes)
            if raw:
                self._in.write(raw)
            else:
                self._in.write_eof()

    async def _receive_raw(self, max_bytes: int) -> bytes:
        while True:
            self._check_open()
            await trio.lowlevel.wait_readable(self._sock)
            try:
                return self._sock.recv(max_bytes)
            except BlockingIOError:
                continue
            except OSError as exc:
                self._break(f"receive failed: {exc.strerror or exc}")
                raise trio.BrokenResourceError(self.broken) from exc

    # -- writing ---------------------------------------------------------------

    def send_nowait(self, data: bytes) -> bool:
        """Write now what the kernel takes, queue the rest; never waits.

        False when the connection is closed, or when this write took the backlog
        over its limit: the connection is then reset (``broken`` says so), and the
        owner should drop the client. ``data`` must not be changed afterwards (it
        may be queued as is, and shared with other connections).

        Inside ``corked()`` the write is held and sent with the others at its end.
        """
        if _held is not None and not self._closed:
            parts = _held.get(self)
            if parts is None:
                _held[self] = [data]
            else:
                parts.append(data)
            return True
        return self._send_now(data)

    def _send_now(self, data: bytes) -> bool:
        if self._closed:
            return False
        if self._ssl is not None:
            self._ssl.write(data)
            data = self._out.read()
        self._push(data)
        if self._queued - max(self._sent, self._awaited_end) > self._limit:
            self._break(f"outbound backlog over {self._limit} bytes: the client does not read fast enough")
            return False
        return not self._closed

    async def send_all(self, data: bytes) -> None:
        """Queue ``data`` whole (never over the limit: this caller waits), then wait
        until the backlog is back under the low-water mark."""
        self._check_open()
        if self._ssl is not None:
            self._ssl.write(data)
            data = self._out.read()
        self._push(data)
        self._awaited_end = self._queued
        await self._wait_backlog(self._low_water)

    def _push(self, data: bytes | memoryview) -> None:
        size = len(data)
        self._queued += size
        if not self._backlog:
            try:
                sent = self._sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self._break(f"send failed: {exc.strerror or exc}")
                return
            self._sent += sent
            if sent == size:
                return
            data = memoryview(data)[sent:]
        self._backlog.append(data)
        if not self._writing:
            self._writing = True
            self._spawn(self._write_backlog)

    async def _write_backlog(self) -> None:
        """The writer task: drains the backlog as the socket becomes writable, then ends."""
        try:
            while self._backlog and not self._closed:
                await trio.lowlevel.wait_writable(self._sock)
                self._flush_backlog()
        except trio.ClosedResourceError:
            pass
        finally:
            self._writing = False

    def _flush_backlog(self) -> None:
        backlog = self._backlog
        while backlog:
            buffers = list(itertools.islice(backlog, SENDMSG_BUFFERS))
            try:
                sent = self._sock.sendmsg(buffers)
            except BlockingIOError:
                break
            except OSError as exc:
                self._break(f"send failed: {exc.strerror or exc}")
                return
            self._sent += sent
            for buffer in buffers:
                if sent >= len(buffer):
                    sent -= len(buffer)
                    backlog.popleft()
                else:
                    backlog[0] = memoryview(buffer)[sent:]
                    break
            else:
                continue
            break  # the kernel took less than offered: it is full
        if self._drained is not None and self.backlog <= self._low_water:
            self._wake_waiters()

    async def _wait_backlog(self, mark: int) -> None:
        """Wait until at most ``mark`` bytes are queued (always a checkpoint)."""
        await trio.lowlevel.checkpoint()
        while True:
            self._check_open()
            if self.backlog <= mark:
                return
            if self._drained is None:
                self._drained = trio.Event()
            await self._drained.wait()

    def _wake_waiters(self) -> None:
        if self._drained is not None:
            self._drained.set()
            self._drained = None

    def _flush_tls(self) -> None:
        if self._out.pending:
            self._push(self._out.read())

    # -- closing ---------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            if self.broken is not None:
                raise trio.BrokenResourceError(self.broken)
            raise trio.ClosedResourceError("connection closed")

    def _break(self, reason: str) -> None:
        """The connection cannot go on: reset it and remember why."""
        if not self._closed:
            self.broken = reason
            self.abort()

    def abort(self) -> None:
        """Reset the connection now (RST), dropping whatever is queued; wakes every waiter."""
        if self._closed:
            return
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self._close_socket()

    def _close_socket(self) -> None:
        self._closed = True
        self._backlog.clear()
        self._sent = self._queued
        trio.lowlevel.notify_closing(self._sock)
        self._sock.close()
        self._wake_waiters()

    async def aclose(self, *, linger: float = 0.0) -> None:
        """Close gracefully: send what is queued (TLS close_notify included), then FIN.

        With ``linger``, read and drop what the peer still sends until its EOF, for
        at most that many seconds: closing with unread input makes the kernel send
        a reset, which can destroy an error response before the peer reads it.
        A peer that does not take the backlog within CLOSE_DRAIN_TIMEOUT is reset.
        """
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        try:
            if self._ssl is not None and self._handshaken:
                try:
                    self._ssl.unwrap()
                except ssl.SSLError:
                    pass  # our close_notify is out; the peer's is not awaited
                self._flush_tls()
            with trio.move_on_after(CLOSE_DRAIN_TIMEOUT) as scope:
                await self._wait_backlog(0)
            if scope.cancelled_caught:
                self.abort()
                return
            self._sock.shutdown(socket.SHUT_WR)
            with trio.move_on_after(linger):
                while linger > 0 and await self._receive_raw(RECEIVE_SIZE):
                    pass
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        finally:
            if not self._closed:
                self._close_socket()


# Writes held while a cork is in place, per connection, in order (None: no cork).
_held: dict[Connection, list[bytes]] | None = None


@contextmanager
def corked():
    """Hold every ``send_nowait`` made inside the block (which must not await) and
    write each connection's share as one send when it ends: a hub routing a batch
    of events costs each client one system call (and one TLS record), not one per
    event. A write that overflows a backlog is reported when the block ends, by
    that connection being broken."""
    global _held
    if _held is not None:  # nested: the outer block sends
        yield
        return
    _held = held = {}
    try:
        yield
    finally:
        _held = None
        for conn, parts in held.items():
            conn._send_now(parts[0] if len(parts) == 1 else b"".join(parts))
