"""Who may come in: the caps of the port, derived from the open files limit, the tally that
holds them, and the back-off of a listener that cannot accept.

Why: every connection is a file descriptor, and the store, the SNMP sockets and the
webhooks need descriptors too. A process at its open files limit fails wherever it next
asks for one (SQLite: "unable to open database file"), so connections get the limit less a
reserve that they can never take, and past their cap are refused at once. Pure: the caller
brings the limit, the addresses and the time.
"""

from __future__ import annotations

from collections.abc import Hashable

import attrs

from eyenet.health import Checks, Health, recently

# Connections and unjoined sessions one address may hold by default: a quarter of the total,
# so that a single host cannot take every slot while a NAT of users can still come in.
PER_ADDRESS_SHARE = 4
# The fewest connections worth serving; a limit that leaves fewer is a setup to fix, said at start.
MIN_CONNECTIONS = 16
# An address whose WebSocket was closed for a frame flood gets no connection for this long: a
# flooder that reconnects at once would otherwise cost a handshake and a budget each time.
FLOOD_PENALTY = 10.0
# Addresses remembered for a penalty, at most (the oldest goes first): the memory stays bounded.
MAX_PENALIZED = 4096


class NoRoom(ValueError):
    """The open files limit leaves too few descriptors for connections: an operator's to fix."""


@attrs.frozen
class Caps:
    total: int
    per_address: int


def per_address_cap(total: int, configured: int = 0) -> int:
    """`configured` (0: a share of `total`), never above `total` nor below 1."""
    return max(1, min(total, configured or total // PER_ADDRESS_SHARE))


def connection_caps(open_files: int, reserve: int, max_connections: int, max_per_address: int = 0) -> Caps:
    """The connection caps for a process allowed `open_files` descriptors, `reserve` of which
    are kept for everything but connections (one more is the refused connection's, closed at
    once). NoRoom, naming the numbers, when too few are left."""
    room = open_files - reserve - 1
    if room < MIN_CONNECTIONS:
        raise NoRoom(
            f"the open files limit ({open_files}) leaves {max(room, 0)} descriptors for connections beyond the "
            f"reserve of {reserve} (web.fd_reserve): raise the limit (ulimit -n, LimitNOFILE=) or lower the reserve"
        )
    total = min(max_connections, room)
    return Caps(total, per_address_cap(total, max_per_address))


@attrs.define
class Tally:
    """Slots held overall and per key (a client address), against a cap on each."""

    cap: int
    per_key: int
    held: int = 0
    refused: int = 0
    by_key: dict[Hashable, int] = attrs.field(factory=dict)

    def full(self, key: Hashable) -> str | None:
        """Which cap a slot for `key` would pass, if any (nothing is counted)."""
        if self.held >= self.cap:
            return f"all {self.cap} taken"
        if self.by_key.get(key, 0) >= self.per_key:
            return f"the {self.per_key} of one address taken"
        return None

    def admit(self, key: Hashable) -> str | None:
        """Take a slot for `key`; or, at a cap, count a refusal and say which cap."""
        refusal = self.full(key)
        if refusal is not None:
            self.refused += 1
            return refusal
        self.by_key[key] = self.by_key.get(key, 0) + 1
        self.held += 1
        return None

    def release(self, key: Hashable) -> None:
        mine = self.by_key.get(key, 0)
        if mine <= 0:
            return
        if mine == 1:
            del self.by_key[key]
        else:
            self.by_key[key] = mine - 1
        self.held -= 1


@attrs.define
class Door:
    """The port's connections: those held against the caps, those refused, and the accept()
    calls that found no descriptor left (something besides connections took them)."""

    caps: Caps
    open_files: int
    reserve: int
    tally: Tally = attrs.field(init=False)
    accept_failures: int = 0
    refused_at: float | None = None
    failed_at: float | None = None
    penalized: dict[Hashable, float] = attrs.field(factory=dict)  # address -> until when

    def __attrs_post_init__(self) -> None:
        self.tally = Tally(self.caps.total, self.caps.per_address)

    def admit(self, address: Hashable, now: float) -> str | None:
        until = self.penalized.get(address)
        if until is not None and now < until:
            self.tally.refused += 1
            refusal: str | None = f"it flooded a WebSocket with frames less than {FLOOD_PENALTY:g} s ago"
        else:
            refusal = self.tally.admit(address)
            if refusal is not None:
                refusal = f"connection slots: {refusal} (web.max_connections, web.max_connections_per_address)"
        if refusal is not None:
            self.refused_at = now
        return refusal

    def penalize(self, address: Hashable, now: float) -> None:
        """`address` flooded a WebSocket: its next connections are refused for FLOOD_PENALTY seconds."""
        self.penalized.pop(address, None)  # to the end: the dict stays in the order of the penalties
        self.penalized[address] = now + FLOOD_PENALTY
        if len(self.penalized) > MAX_PENALIZED:
            for key in [k for k, until in self.penalized.items() if until <= now] or [next(iter(self.penalized))]:
                del self.penalized[key]

    def release(self, address: Hashable) -> None:
        self.tally.release(address)

    def accept_failed(self, now: float) -> None:
        self.accept_failures += 1
        self.failed_at = now

    def health(self, now: float) -> Health:
        checks = Checks({
            "connections": self.tally.held, "maxConnections": self.caps.total, "maxPerAddress": self.caps.per_address,
            "openFilesLimit": self.open_files, "fdReserve": self.reserve, "refused": self.tally.refused,
            "acceptFailures": self.accept_failures,
        })
        if recently(self.failed_at, now):
            checks.degraded("accept() found no file descriptor left in the last 5 minutes: raise the open files limit")
        if recently(self.refused_at, now):
            checks.degraded("connections were refused at a cap in the last 5 minutes")
        return checks.health()


@attrs.define
class Backoff:
    """Waits after failures, doubling from `first` to `most`; a success starts over."""

    first: float = 0.01
    most: float = 1.0
    delay: float = 0.0

    def failed(self) -> float:
        self.delay = min(self.most, max(self.first, self.delay * 2))
        return self.delay

    def succeeded(self) -> None:
        self.delay = 0.0
