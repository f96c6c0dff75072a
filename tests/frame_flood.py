"""WebSocket frame floods, as an attacker sends them: raw masked frames after a raw upgrade.

Imported by tests/test_abuse_connections.py, and run as a script to flood from a process of
its own (so that the flood's own work does not slow the test's measurements):

    python frame_flood.py PORT TARGET KIND CONNECTIONS SECONDS

KIND is `ping` (ping frames) or `continuation` (a text frame without FIN, then empty
continuation frames). Each connection, from an address of its own (127.0.0.10, .11, ...: not
the test's), floods until the server closes it, then reconnects (50 ms after a refusal),
until SECONDS have passed; the script prints how many connections were closed by the server.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import sys
import threading
import time

PING, TEXT, CONTINUATION, CLOSE = 0x9, 0x1, 0x0, 0x8
CHUNK = 1000  # frames written per send


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """One client frame (masked, as RFC 6455 requires of clients); payloads under 126 bytes."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", (0x80 if fin else 0) | opcode, 0x80 | len(payload)) + mask + masked


def upgrade_request(target: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def flood_frames(kind: str, count: int) -> bytes:
    """`count` frames of the flood."""
    if kind == "ping":
        return frame(PING, b"x") * count
    if kind == "continuation":
        return frame(TEXT, b"a", fin=False) + frame(CONTINUATION, fin=False) * (count - 1)
    raise ValueError(f"unknown flood {kind!r}")


def close_code(data: bytes) -> int | None:
    """The code of the first close frame in what the server sent after its 101 (unmasked frames)."""
    while len(data) >= 2:
        opcode, size = data[0] & 0x0F, data[1] & 0x7F
        at = 2
        if size == 126:
            size, at = struct.unpack("!H", data[2:4])[0], 4
        elif size == 127:
            size, at = struct.unpack("!Q", data[2:10])[0], 10
        if opcode == CLOSE:
            return struct.unpack("!H", data[at:at + 2])[0] if size >= 2 else None
        data = data[at + size:]
    return None


def _connect(port: int, target: str, source: str) -> tuple[socket.socket, bytes]:
    """A WebSocket after its 101, and what came after the 101's head."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    sock.sendall(upgrade_request(target))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed during the upgrade: {head!r}")
        head += chunk
    status, _, rest = head.partition(b"\r\n\r\n")
    if not status.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"no upgrade: {status!r}")
    return sock, rest


def _flood_until(port: int, target: str, kind: str, source: str, end: float, closed: list[int]) -> None:
    while time.monotonic() < end:
        try:
            sock, _ = _connect(port, target, source)
        except OSError:
            time.sleep(0.05)
            continue
        burst = flood_frames(kind, CHUNK)
        try:
            sock.sendall(burst)
            rest = frame(PING, b"x") * CHUNK if kind == "ping" else frame(CONTINUATION, fin=False) * CHUNK
            while time.monotonic() < end:
                sock.sendall(rest)
        except OSError:
            closed.append(1)  # the server closed (or reset) the connection
        finally:
            sock.close()


def main(argv: list[str]) -> None:
    port, target, kind, connections, seconds = int(argv[0]), argv[1], argv[2], int(argv[3]), float(argv[4])
    end = time.monotonic() + seconds
    closed: list[int] = []
    threads = [
        threading.Thread(target=_flood_until, args=(port, target, kind, f"127.0.0.{10 + n}", end, closed))
        for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    for thread in threads:
        thread.join()
    print(f"closed {len(closed)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
