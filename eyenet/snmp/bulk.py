"""Self-tuning GETBULK max-repetitions, per target, with no I/O.

Bigger requests mean fewer round trips, until an agent's limits bite: a tooBig
error, a response it trims, datagrams so large they are lost (timeouts), or a
slow agent. The tuner grows while responses come back whole and quickly, and
shrinks on each of those signals; what it learns about an agent's ceiling stays.
"""

import attrs

GROWTH = 1.5
# A response this close to the agent's known largest datagram is at the edge.
NEAR_LIMIT = 0.9
# "Quickly": the answer came within this share of the timeout.
QUICK = 0.25


@attrs.define
class BulkTuner:
    size: int = 25
    cap: int = 100
    floor: int = 1
    # The largest datagram the agent has been seen to send when it had to trim.
    size_limit: int | None = None
    # Repetitions above this drew tooBig; never asked again.
    ceiling: int | None = None

    def __attrs_post_init__(self) -> None:
        # Clamp to a ceiling given at construction too (e.g. restored from what was learned), not only to cap.
        limit = self.cap if self.ceiling is None else min(self.cap, self.ceiling)
        self.size = max(self.floor, min(self.size, limit))

    def on_response(self, requested: int, returned: int, nbytes: int, rtt: float, timeout: float, ended: bool) -> None:
        """A GETBULK answer of `returned` varbinds for `requested` repetitions (one OID), in nbytes."""
        if returned < requested and not ended:
            # The agent trimmed the answer to what fits its buffer.
            self.size_limit = nbytes if self.size_limit is None else min(self.size_limit, max(nbytes, 484))
            self.size = max(self.floor, min(self.size, returned))
            return
        if self.size_limit is not None and nbytes > NEAR_LIMIT * self.size_limit and returned:
            per_varbind = nbytes / returned
            self.size = max(self.floor, min(self.size, int(NEAR_LIMIT * self.size_limit / per_varbind)))
            return
        if returned >= requested and rtt <= QUICK * timeout:
            grown = max(self.size + 1, int(self.size * GROWTH))
            if self.size_limit is not None and returned:
                grown = min(grown, int(NEAR_LIMIT * self.size_limit / (nbytes / returned)))
            limit = self.cap if self.ceiling is None else min(self.cap, self.ceiling)
            self.size = max(self.floor, min(grown, limit))

    def on_too_big(self, requested: int) -> None:
        self.ceiling = max(self.floor, requested - 1) if self.ceiling is None else min(self.ceiling, max(self.floor, requested - 1))
        self.size = max(self.floor, min(self.size, requested // 2))

    def on_timeout(self) -> None:
        self.size = max(self.floor, self.size // 2)
