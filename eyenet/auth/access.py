"""Who may see what: the one access policy behind the REST API and the push server.

A principal has a role (viewer < operator < admin) and a scope, a set of device tags; an
empty scope sees every device. A scoped principal sees a monitored device that carries one
of its tags, and everything about that device: its metrics, alerts, anomaly jobs and
events. Whatever it may not see is answered as if it did not exist, so ids do not leak.

In the topology a scoped principal also sees the neighbours EyeNet does not monitor that
are linked to a device it sees (the far end of its uplinks), and only the links between
nodes it sees. A maintenance window is visible to it when every device and tag the window
names is in its scope. An event that names no device and cannot be cut down to a scope
(alert:update carries no device id) is withheld from scoped principals.

What holds for every device (alert rules, users, settings) is fleet-wide: only a principal
without a scope may create, change or delete it. A scoped admin's rule would reach devices
past its scope (a rule names tags, or nothing: every device), its deletion would resolve
alerts of other scopes, and a user it made could be unscoped.

Pure: the caller supplies the lookup of a device's tags (the inventory's).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

import attrs

from eyenet.auth.model import role_allows, scope_allows

# A monitored device's tags, or None when EyeNet does not monitor that device id.
TagsOf = Callable[[str], "tuple[str, ...] | None"]

# Device-less events a scoped principal cannot be shown: their data cannot be cut to a scope.
_UNSCOPABLE_EVENTS = frozenset({"alert:update"})


def fleet_wide(scope: Collection[str]) -> bool:
    """May a principal with this scope manage fleet-wide objects (rules, users, settings)?"""
    return not scope


@attrs.frozen
class Access:
    tags_of: TagsOf
    # The least role that receives each push event type; a type not listed goes to every role.
    event_roles: Mapping[str, str] = attrs.field(factory=dict)

    def role(self, role: str, needed: str) -> bool:
        return role_allows(role, needed)

    def tags(self, scope: Collection[str], tags: Collection[str]) -> bool:
        """May this scope see (and so manage) a device carrying these tags?"""
        return scope_allows(scope, tags)

    def device(self, scope: Collection[str], device_id: str) -> bool:
        """May a principal with this scope see the device (and its metrics, alerts, jobs)?
        Unscoped: yes, also for a device no longer monitored (its history stays readable)."""
        return not scope or self.monitored_device(scope, device_id)

    def monitored_device(self, scope: Collection[str], device_id: str) -> bool:
        """A device that is monitored now and visible to this scope (REST's /api/devices/{id})."""
        tags = self.tags_of(device_id)
        return tags is not None and scope_allows(scope, tags)

    def device_ids(self, scope: Collection[str], monitored: Iterable[str]) -> list[str] | None:
        """The monitored device ids this scope sees; None when it sees every device, including
        those no longer monitored (a query then needs no device filter)."""
        if not scope:
            return None
        return [d for d in monitored if self.device(scope, d)]

    def window(self, scope: Collection[str], devices: Iterable[str], tags: Iterable[str]) -> bool:
        """May this scope see (and so edit) a maintenance window over these devices and tags?"""
        if not scope:
            return True
        return set(tags) <= set(scope) and all(self.device(scope, d) for d in devices)

    def topology(
        self, scope: Collection[str], nodes: Iterable[str], links: Iterable[tuple[str, str]]
    ) -> set[str] | None:
        """The topology nodes this scope sees (None: all of them). A node is visible when it is a
        device in scope, or an unmonitored neighbour linked to one; links are kept between
        visible nodes only."""
        if not scope:
            return None
        visible = {n for n in nodes if self.monitored_device(scope, n)}
        neighbours = set()
        for a, b in links:
            for near, far in ((a, b), (b, a)):
                if near in visible and self.tags_of(far) is None:
                    neighbours.add(far)
        return visible | neighbours

    def event(self, role: str, scope: Collection[str], event_type: str, device_id: str | None) -> bool:
        """May this principal receive a push event of this type about this device? Device-less
        events other than the unscopable ones pass here: the topology is cut by `topology`."""
        needed = self.event_roles.get(event_type)
        if needed is not None and not role_allows(role, needed):
            return False
        if not scope:
            return True
        if device_id is None:
            return event_type not in _UNSCOPABLE_EVENTS
        return self.monitored_device(scope, device_id)
