"""Back-off of password guesses: per user name and per client address.

Each key (a user name, an address) has a tally of failed logins. The first `free` cost
nothing; each one after doubles the wait before the next attempt, from 1 s up to
`max_wait`. An attempt is counted when it starts, before its password is hashed, so
parallel guesses count as much as sequential ones; a success takes its count back (and
clears its user name's tally). A tally left alone for `forget` seconds is dropped.

Memory is bounded: a table holds at most `capacity` tallies. When full, the forgotten ones
go first, then the tenth with the fewest failures: strangers trying one name each cannot
push out the tally of the name under attack. Pure: the time is passed in.
"""

from __future__ import annotations

import ipaddress
import math

import attrs


@attrs.define
class _Tally:
    failures: int
    last: float  # the last attempt that counted
    until: float  # no attempt before this


@attrs.define
class Tallies:
    free: int
    max_wait: float
    capacity: int = 10_000
    entries: dict[str, _Tally] = attrs.Factory(dict)

    @property
    def forget(self) -> float:
        return 2 * self.max_wait

    def wait(self, key: str, now: float) -> float:
        tally = self.entries.get(key)
        return 0.0 if tally is None else max(0.0, tally.until - now)

    def attempt(self, key: str, now: float) -> None:
        tally = self.entries.get(key)
        if tally is None or now - tally.last > self.forget:
            if tally is None and len(self.entries) >= self.capacity:
                self._make_room(now)
            tally = self.entries[key] = _Tally(0, now, now)
        tally.failures += 1
        tally.last = now
        tally.until = now + self._delay(tally.failures)

    def undo(self, key: str) -> None:
        """An attempt that succeeded: it does not count."""
        tally = self.entries.get(key)
        if tally is not None:
            tally.failures -= 1
            tally.until = tally.last + self._delay(tally.failures)
            if tally.failures <= 0:
                del self.entries[key]

    def clear(self, key: str) -> None:
        self.entries.pop(key, None)

    def _delay(self, failures: int) -> float:
        over = failures - self.free
        return 0.0 if over <= 0 else min(self.max_wait, 2.0 ** min(over - 1, 64))

    def _make_room(self, now: float) -> None:
        for key in [k for k, t in self.entries.items() if now - t.last > self.forget and t.until <= now]:
            del self.entries[key]
        if len(self.entries) >= self.capacity:
            doomed = sorted(self.entries, key=lambda k: (self.entries[k].failures, self.entries[k].last))
            for key in doomed[: max(1, len(doomed) // 10)]:
                del self.entries[key]


def address_key(address: str) -> str:
    """An IPv4 address as it is; an IPv6 one as its /64, which one client usually holds whole."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@attrs.define
class LoginBackoff:
    names: Tallies
    addresses: Tallies

    @classmethod
    def create(cls, free_per_name: int, free_per_address: int, max_wait: float, capacity: int = 10_000) -> LoginBackoff:
        return cls(Tallies(free_per_name, max_wait, capacity), Tallies(free_per_address, max_wait, capacity))

    def retry_after(self, name: str, address: str, now: float) -> int:
        """Whole seconds before this name may be tried from this address; 0: now."""
        wait = max(self.names.wait(name, now), self.addresses.wait(address_key(address), now))
        return math.ceil(wait)

    def attempt(self, name: str, address: str, now: float) -> None:
        self.names.attempt(name, now)
        self.addresses.attempt(address_key(address), now)

    def succeeded(self, name: str, address: str) -> None:
        self.names.clear(name)
        self.addresses.undo(address_key(address))
