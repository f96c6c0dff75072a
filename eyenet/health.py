"""How EyeNet is doing, sans-io: each service reports a Health, the whole is the worst of them.

`ok`: working as configured. `degraded`: working, but something an operator should look
at (a backlog growing, events dropped, a late discovery cycle); `down`: a part has stopped
doing its job (the store cannot write, a service is not running). /api/health answers 503
when the whole is down, so a load balancer or systemd's watchdog can act on it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

# How long a dropped event or sample keeps its component degraded.
RECENT = 300.0


class Status(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


_RANK = {Status.OK: 0, Status.DEGRADED: 1, Status.DOWN: 2}

Detail = int | float | str | bool | None


@attrs.frozen
class Health:
    status: Status
    reasons: tuple[str, ...] = ()
    details: Mapping[str, Detail] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"status": self.status.value, "reasons": list(self.reasons), **self.details}


@attrs.define
class Checks:
    """Findings about one component, gathered as its health is read: the worst one sets the status."""

    details: dict[str, Detail] = attrs.field(factory=dict)
    found: list[tuple[Status, str]] = attrs.field(factory=list)

    def degraded(self, reason: str) -> None:
        self.found.append((Status.DEGRADED, reason))

    def down(self, reason: str) -> None:
        self.found.append((Status.DOWN, reason))

    def health(self) -> Health:
        status = max((s for s, _ in self.found), key=_RANK.__getitem__, default=Status.OK)
        return Health(status, tuple(reason for _, reason in self.found), dict(self.details))


def overall(components: Mapping[str, Health]) -> Health:
    """The worst component's status, with every component's reasons named by component."""
    status = max((h.status for h in components.values()), key=_RANK.__getitem__, default=Status.OK)
    reasons = tuple(f"{name}: {reason}" for name, h in components.items() for reason in h.reasons)
    return Health(status, reasons)


def recently(when: float | None, now: float) -> bool:
    """Did it happen within RECENT seconds before now (None: never)?"""
    return when is not None and now - when <= RECENT
