"""Receiving UDP datagrams on Trio: the loop the manager's sockets and the trap listener share."""

import socket as _stdsocket
from collections.abc import Callable
from typing import Any

import trio

# Datagrams handled before the loop lets other tasks run, under a flood.
MAX_BURST = 64
# The sockets' receive buffer (SO_RCVBUF): answers and traps that arrive while the loop is busy.
RECV_BUFFER = 4 * 1024 * 1024


async def receive_forever(sock: _stdsocket.socket, deliver: Callable[[bytes, tuple[Any, ...]], None]) -> None:
    """deliver(data, address) for each datagram that arrives on the non-blocking sock."""
    # Drain every queued datagram before sleeping: one wake-up serves a burst.
    burst = 0
    while True:
        try:
            data, addr = sock.recvfrom(65535)
        except BlockingIOError:
            burst = 0
            await trio.lowlevel.wait_readable(sock)
            continue
        except OSError:
            # ICMP port unreachable surfaces here on Linux; a request then times out as it should.
            # Checkpoint, so that no run of errors can spin this loop without yielding.
            await trio.lowlevel.checkpoint()
            continue
        deliver(data, addr)
        burst += 1
        if burst >= MAX_BURST:  # let the woken tasks run
            burst = 0
            await trio.lowlevel.cancel_shielded_checkpoint()
