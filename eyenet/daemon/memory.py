"""Giving the C allocator's free memory back to the system, so that RSS follows what is in use.

glibc's malloc keeps what is freed inside its arenas for the next allocation and hands memory
back to the system only from the top of the main heap. After a burst (a poll round's
datagrams, a fan-out's frames to a thousand clients, a large REST answer, the store's
writer thread batching a poll round) the resident size stays at the burst's high-water mark
though the memory is free, and each later burst that goes a little higher raises it again: a
slow creep that looks like a leak (bench/README, "Soak"). malloc_trim(0) hands every whole free
page of every arena back (madvise), at the cost of a walk over the free chunks. With another C
library (musl, macOS) there is no such call and nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable

import trio

log = logging.getLogger("eyenet.memory")

# Seconds between two trims: a walk took 0.15-0.52 ms in the soak (bench/README), and a burst's
# pages come back within a minute.
TRIM_EVERY = 60.0


def _glibc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_trim = _glibc_trim()


def give_back() -> bool:
    """Return the allocator's free pages to the system now: whether any were (False without glibc)."""
    return _trim is not None and bool(_trim(0))


async def give_back_every(seconds: float = TRIM_EVERY) -> None:
    """give_back() every `seconds`, until cancelled. Run it in the app's nursery."""
    if _trim is None:
        log.debug("the C library has no malloc_trim: freed memory stays with the allocator")
        return
    while True:
        await trio.sleep(seconds)
        give_back()
