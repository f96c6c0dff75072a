"""How many of a device's traps are published and stored, pure: a trap flood (a flapping
port, a chatty agent, a forged sender) must not flood the bus, the dashboards or the disk.

Each device may have `per_device` traps a second kept, and all devices together `total`;
the rest are counted, per device, for the caller to log. Counted in whole seconds of the
caller's clock (so a burst may reach twice a limit across a second's edge, never more).
"""

from collections import Counter

import attrs


@attrs.define
class TrapBudget:
    per_device: int
    total: int
    refused: Counter[str] = attrs.Factory(Counter)  # traps over the budget, by device, until taken
    _second: int = attrs.field(default=-1, init=False)
    _kept: Counter[str] = attrs.field(factory=Counter, init=False)
    _kept_total: int = attrs.field(default=0, init=False)

    def take(self, device_id: str, now: float) -> bool:
        """May this trap of this device be kept?"""
        second = int(now)
        if second != self._second:
            self._second, self._kept_total = second, 0
            self._kept.clear()
        if self._kept_total >= self.total or self._kept[device_id] >= self.per_device:
            self.refused[device_id] += 1
            return False
        self._kept[device_id] += 1
        self._kept_total += 1
        return True

    def take_refused(self) -> Counter[str]:
        """The counts of refused traps since the last call, by device."""
        refused, self.refused = self.refused, Counter()
        return refused
