"""The alert lifecycle, sans-io: observations in, changes out.

:class:`AlertEngine` keeps one tracker per (rule, device, interface) and turns
observations (the poller's DeviceMetrics and DeviceStatus) and the clock
(:meth:`AlertEngine.tick`) into :class:`Change` values: an alert raised, acknowledged,
resolved, or first pushed after a maintenance window. The alert service
(eyenet.alerts.service) stores each change and then publishes it; nothing here does I/O.

Lifecycle: a condition that holds for `for` seconds raises an alert (status open);
a condition that stops holding inside that time raises nothing. An open alert may
be acknowledged by a user; an open or acknowledged alert is resolved by a user or
by the engine (updatedBy "system") when the clear condition holds. There is at
most one alert that is not resolved per (rule, device, interface): while it is
there the condition raises nothing more.

Maintenance windows silence devices (by id or tag) between two times: alerts
raised inside one are recorded but not pushed, and neither are their updates.
When the window is over (or deleted) the next tick pushes those still open.

Topology: an alert of a device cut off from EyeNet by another device's failure
(`root_cause`) is recorded with `suppressed_by` = that failure's alert and not
pushed. When the cause is gone it resolves unseen, and a condition that still
holds raises a new alert after its `for`.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any

import attrs

from eyenet.alerts.rules import PREDICTION, Rule, Value
from eyenet.events import SYSTEM_USER, AlertNew, AlertUpdate, DeviceMetrics, DeviceStatus, InterfaceMetrics, MlPrediction, rfc3339

# root_cause's answer when the device is cut off by a device whose own alert is still
# pending: raise nothing yet, so the root cause's alert comes first and this one links to it.
HOLD = "hold"


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


ALERT_STATUSES = tuple(s.value for s in AlertStatus)  # plain strings: for Literal types and messages
ACTIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class ChangeKind(enum.StrEnum):
    """What happened to an alert (see Change)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    NOTIFY = "notify"  # raised inside a maintenance window, pushed now that the window is over


class AlertNotFound(LookupError):
    pass


class InvalidTransition(ValueError):
    """The alert is not in a status that allows the change (acknowledging a resolved alert)."""


# -- alerts and their changes ------------------------------------------------------------------


@attrs.frozen
class Alert:
    id: str
    rule_id: str
    device_id: str
    interface: str | None
    metric: str
    severity: str
    message: str
    status: AlertStatus = attrs.field(converter=AlertStatus)  # the store gives a str
    value: float | None
    threshold: float | None
    created_at: datetime
    updated_at: datetime
    updated_by: str | None = None
    # Pushed to dashboards (alert:new sent). False while raised inside a maintenance window,
    # or while the device was cut off by another device's failure.
    notified: bool = True
    # The root-cause alert: the device was reachable only through a device that is down.
    suppressed_by: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule_id, self.device_id, self.interface or "")

    def to_json(self, tz: tzinfo | None = None) -> dict[str, Any]:
        """The REST shape (events.md), also the webhook's `alert`."""
        return {
            "alertId": self.id, "ruleId": self.rule_id, "severity": self.severity, "deviceId": self.device_id,
            "interface": self.interface, "metric": self.metric, "message": self.message, "status": self.status,
            "value": self.value, "threshold": self.threshold, "createdAt": rfc3339(self.created_at, tz),
            "updatedAt": rfc3339(self.updated_at, tz), "updatedBy": self.updated_by, "suppressedBy": self.suppressed_by,
        }


@attrs.frozen
class Change:
    """What happened to an alert. `alert` is the alert after the change; `push` says
    whether dashboards hear of it."""

    kind: ChangeKind = attrs.field(converter=ChangeKind)
    alert: Alert
    by: str | None
    at: datetime
    push: bool

    def event(self) -> AlertNew | AlertUpdate:
        """The seed's event for this change."""
        a = self.alert
        if self.kind in (ChangeKind.NEW, ChangeKind.NOTIFY):
            return AlertNew(
                alert_id=a.id, severity=a.severity, device_id=a.device_id, message=a.message, timestamp=a.created_at,
                value=a.value, threshold=a.threshold, rule_id=a.rule_id, metric=a.metric,
            )
        assert self.by is not None, "acknowledged and resolved name who did it"
        return AlertUpdate(
            alert_id=a.id, status=a.status, updated_by=self.by, timestamp=self.at, device_id=a.device_id, severity=a.severity,
        )


@attrs.frozen
class Window:
    """A maintenance window: devices (ids) or tags silenced in [starts, ends)."""

    id: str
    starts: datetime
    ends: datetime
    devices: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    reason: str = ""
    created_by: str | None = None

    def covers(self, device_id: str, tags: Iterable[str], now: datetime) -> bool:
        return self.starts <= now < self.ends and (device_id in self.devices or any(t in self.tags for t in tags))


def _interface_value(metric: str, itf: InterfaceMetrics) -> Value | None:
    """An interface metric's value from device:metrics' interface row; None when not measured."""
    if metric == "interface.status":
        return itf.status
    if metric == "interface.errors":
        return None if itf.errors_in is None or itf.errors_out is None else itf.errors_in + itf.errors_out
    bps = itf.bps_in if metric == "interface.in_utilization" else itf.bps_out
    return None if bps is None or not itf.speed else min(100.0, 100.0 * bps / itf.speed)


def new_alert_id(now: datetime) -> str:
    """Sortable by creation time, unique without coordination, URL-safe."""
    return f"al-{int(now.timestamp() * 1000):011x}-{secrets.token_hex(4)}"


@attrs.define
class _Tracker:
    previous: float | str | None = None  # the last sample (for "decreased")
    pending_since: datetime | None = None  # the condition has held since then
    last_value: float | str | None = None


# One value for one rule: (rule, interface name or None, value). A tuple: a poll makes dozens.
_Sample = tuple[Rule, str | None, Value]


class AlertEngine:
    """device_tags(device_id) -> the device's tags (scope of rules and windows);
    root_cause(device_id) -> the id of the alert of a down device that cuts this one off
    from EyeNet (topology): its alerts are recorded, linked to that alert, not pushed;
    HOLD: that device's alert is yet to come, wait; None: nothing stands in the way."""

    def __init__(
        self,
        rules: Iterable[Rule] = (),
        *,
        device_tags: Callable[[str], Iterable[str]] = lambda device_id: (),
        root_cause: Callable[[str], str | None] = lambda device_id: None,
        new_id: Callable[[datetime], str] = new_alert_id,
    ) -> None:
        self._rules: dict[str, Rule] = {}
        self._device_tags = device_tags
        self.root_cause = root_cause
        self._new_id = new_id
        self._trackers: dict[tuple[str, str, str], _Tracker] = {}
        self._pending: set[tuple[str, str, str]] = set()
        self.alerts: dict[str, Alert] = {}  # alerts not resolved, by id
        self._active: dict[tuple[str, str, str], str] = {}  # (rule, device, interface) -> alert id
        self._windows: dict[str, Window] = {}
        # Interfaces seen up while administratively up, per device: those are watched.
        self._seen_up: dict[str, set[str]] = {}
        self.set_rules(rules, None)

    # -- configuration ------------------------------------------------------------------------

    @property
    def rules(self) -> dict[str, Rule]:
        return dict(self._rules)

    def set_rules(self, rules: Iterable[Rule], now: datetime | None) -> list[Change]:
        """Replace the rules. Alerts whose rule is gone, disabled or no longer covers their
        device or interface resolve (by system); pending conditions of changed rules restart."""
        new = {r.id: r for r in rules}
        for key in [k for k in self._trackers if new.get(k[0]) != self._rules.get(k[0])]:
            del self._trackers[key]
            self._pending.discard(key)
        self._rules = new
        changes = []
        if now is not None:
            for alert in list(self.alerts.values()):
                rule = new.get(alert.rule_id)
                if rule is None or not rule.enabled or not self._in_scope(rule, alert.device_id, alert.interface):
                    changes.append(self._resolve(alert, SYSTEM_USER, now))
        return changes

    def set_windows(self, windows: Iterable[Window]) -> None:
        """Replace the maintenance windows (the next tick pushes what a removed window held back)."""
        self._windows = {w.id: w for w in windows}

    @property
    def windows(self) -> dict[str, Window]:
        return dict(self._windows)

    def status_pending(self, device_id: str) -> bool:
        """A device-status condition of this device is waiting out its `for`."""
        return any(k[1] == device_id and self._rules[k[0]].metric == "device.status" for k in self._pending)

    def silenced(self, device_id: str, now: datetime) -> bool:
        tags = None
        for window in self._windows.values():
            if window.starts <= now < window.ends:
                if tags is None:
                    tags = tuple(self._device_tags(device_id))
                if window.covers(device_id, tags, now):
                    return True
        return False

    def restore(self, alerts: Iterable[Alert]) -> None:
        """Alerts not resolved, from the store after a restart: they stay open and are not raised again."""
        for alert in alerts:
            if alert.status in ACTIVE:
                self.alerts[alert.id] = alert
                self._active[alert.key] = alert.id

    def _in_scope(self, rule: Rule, device_id: str, interface: str | None) -> bool:
        if not rule.applies_to(device_id, self._device_tags(device_id)):
            return False
        return interface is None or rule.watches_interface(interface)

    # -- observations -------------------------------------------------------------------------

    def observe_status(self, event: DeviceStatus, now: datetime) -> list[Change]:
        device = event.device_id
        if event.status == "down":
            # Stale values must not raise anything while the device cannot be read.
            for key in [k for k in self._pending if k[1] == device and self._rules[k[0]].metric != "device.status"]:
                self._pending.discard(key)
                self._trackers[key].pending_since = None
        return self._evaluate(device, self._device_samples(device, [("device.status", event.status)]), now)

    def observe_metrics(self, event: DeviceMetrics, now: datetime) -> list[Change]:
        device = event.device_id
        values: list[tuple[str, Value]] = []
        if event.cpu is not None:
            values.append(("device.cpu", float(event.cpu)))
        if event.memory is not None:
            values.append(("device.memory", float(event.memory)))
        if event.uptime is not None:
            values.append(("device.uptime", float(event.uptime)))
        samples = self._device_samples(device, values)
        samples.extend(self._interface_samples(device, event))
        return self._evaluate(device, samples, now)

    def observe_prediction(self, event: MlPrediction, now: datetime) -> list[Change]:
        """A completed ml:prediction of a device raises an alert for each ml.prediction rule
        whose labels it found at the rule's confidence, unless that rule's alert for the device
        is still open or acknowledged. A finding is not a condition that holds: such an alert
        resolves only by a user (or when its rule goes)."""
        device = event.device_id
        if event.status != "completed" or device is None:
            return []
        tags = tuple(self._device_tags(device))
        changes = []
        for rule in self._rules.values():
            if not (rule.enabled and rule.metric == PREDICTION and rule.applies_to(device, tags)):
                continue
            found = rule.finding(event.results)
            if found is not None and (rule.id, device, "") not in self._active:
                what = f"{found.label} in {event.metric}" if event.metric else found.label
                changes.append(self._raise(rule, device, None, found.confidence, now, finding=what))
        return changes

    def _device_samples(self, device: str, values: list[tuple[str, float | str]]) -> list[_Sample]:
        if not values:
            return []
        tags = tuple(self._device_tags(device))
        wanted = dict(values)
        return [
            (rule, None, wanted[rule.metric])
            for rule in self._rules.values()
            if rule.enabled and rule.metric in wanted and rule.applies_to(device, tags)
        ]

    def _interface_samples(self, device: str, event: DeviceMetrics) -> list[_Sample]:
        tags = tuple(self._device_tags(device))
        rules = [r for r in self._rules.values() if r.enabled and r.subject == "interface" and r.applies_to(device, tags)]
        seen_up = self._seen_up.setdefault(device, set())
        present = set()
        samples: list[_Sample] = []
        for itf in event.interfaces:
            name = itf.name or str(itf.if_index)
            present.add(name)
            if itf.ignored:  # [poller] ignore_interfaces: listed, never alerted on
                seen_up.discard(name)
                continue
            if itf.admin_status == "down":
                seen_up.discard(name)  # shut down on purpose: no longer watched
                continue
            if itf.status == "up":
                seen_up.add(name)
            if name not in seen_up:
                continue
            for rule in rules:
                value = _interface_value(rule.metric, itf)
                if value is not None and rule.watches_interface(name):
                    samples.append((rule, name, value))
        seen_up &= present
        return samples

    def _evaluate(self, device: str, samples: list[_Sample], now: datetime) -> list[Change]:
        changes = []
        for rule, interface, value in samples:
            key = (rule.id, device, interface or "")
            tracker = self._trackers.get(key)
            if tracker is None:
                tracker = self._trackers[key] = _Tracker()
            previous, tracker.previous, tracker.last_value = tracker.previous, value, value
            alert_id = self._active.get(key)
            if alert_id is not None:
                tracker.pending_since = None
                if rule.cleared(value, previous):
                    changes.append(self._resolve(self.alerts[alert_id], SYSTEM_USER, now, value=value))
                continue
            if not rule.firing(value, previous):
                tracker.pending_since = None  # flapped inside its `for`: nothing
                self._pending.discard(key)
                continue
            if tracker.pending_since is None:
                tracker.pending_since = now
            if now - tracker.pending_since >= timedelta(seconds=rule.for_seconds) and self.root_cause(device) != HOLD:
                changes.append(self._raise(rule, device, interface, value, now))
                tracker.pending_since = None
                self._pending.discard(key)
            else:
                self._pending.add(key)
        return changes

    def tick(self, now: datetime) -> list[Change]:
        """Raise conditions whose `for` has passed with no newer sample (a device down stays
        down without new events), and push alerts a finished maintenance window held back."""
        changes = []
        for key in list(self._pending):
            tracker = self._trackers[key]
            rule = self._rules[key[0]]
            if tracker.pending_since is not None and now - tracker.pending_since >= timedelta(seconds=rule.for_seconds):
                if self.root_cause(key[1]) == HOLD:
                    continue
                self._pending.discard(key)
                tracker.pending_since = None
                if key not in self._active:
                    changes.append(self._raise(rule, key[1], key[2] or None, tracker.last_value, now))
        for alert in list(self.alerts.values()):
            if alert.notified or alert.status != AlertStatus.OPEN or self.silenced(alert.device_id, now):
                continue
            if alert.suppressed_by is None:
                alert = self.alerts[alert.id] = attrs.evolve(alert, notified=True)
                changes.append(Change(ChangeKind.NOTIFY, alert, None, now, True))
            elif self.root_cause(alert.device_id) is None:
                # The cause is gone: this alert resolves unseen, and a condition that still holds
                # raises a new one after its `for` (a device that comes back with its upstream, the
                # usual case, raises nothing).
                changes.append(self._resolve(alert, SYSTEM_USER, now))
                condition = self._trackers.get(alert.key)
                its_rule = self._rules.get(alert.rule_id)
                if condition is not None and its_rule is not None and condition.last_value is not None \
                        and its_rule.firing(condition.last_value, None):
                    condition.pending_since = now
                    self._pending.add(alert.key)
        return changes

    # -- lifecycle -----------------------------------------------------------------------------

    def _raise(
        self, rule: Rule, device: str, interface: str | None, value: Value | None, now: datetime, finding: str | None = None,
    ) -> Change:
        numeric = float(value) if isinstance(value, (int, float)) else None
        cause = self.root_cause(device)
        cause = None if cause == HOLD else cause
        alert = Alert(
            id=self._new_id(now), rule_id=rule.id, device_id=device, interface=interface, metric=rule.metric,
            severity=rule.severity, message=rule.text(device, interface, value, finding), status=AlertStatus.OPEN, value=numeric,
            threshold=rule.wire_threshold(), created_at=now, updated_at=now,
            notified=cause is None and not self.silenced(device, now), suppressed_by=cause,
        )
        self.alerts[alert.id] = alert
        self._active[alert.key] = alert.id
        return Change(ChangeKind.NEW, alert, None, now, alert.notified)

    def _resolve(self, alert: Alert, by: str, now: datetime, value: Value | None = None) -> Change:
        if isinstance(value, (int, float)):
            alert = attrs.evolve(alert, value=float(value))
        alert = attrs.evolve(alert, status=AlertStatus.RESOLVED, updated_at=now, updated_by=by)
        del self.alerts[alert.id]
        if self._active.get(alert.key) == alert.id:
            del self._active[alert.key]
        return Change(ChangeKind.RESOLVED, alert, by, now, alert.notified)

    def get(self, alert_id: str) -> Alert:
        alert = self.alerts.get(alert_id)
        if alert is None:
            raise AlertNotFound(alert_id)
        return alert

    def acknowledge(self, alert_id: str, user_id: str, now: datetime) -> Change:
        """An open alert -> acknowledged by user_id. InvalidTransition if it is not open."""
        alert = self.get(alert_id)
        if alert.status != AlertStatus.OPEN:
            raise InvalidTransition(f"alert {alert_id} is {alert.status}: only an open alert can be acknowledged")
        alert = self.alerts[alert_id] = attrs.evolve(alert, status=AlertStatus.ACKNOWLEDGED, updated_at=now, updated_by=user_id)
        return Change(ChangeKind.ACKNOWLEDGED, alert, user_id, now, alert.notified)

    def resolve(self, alert_id: str, user_id: str, now: datetime) -> Change:
        """An open or acknowledged alert -> resolved by user_id. If the condition still holds,
        it raises a new alert after its `for`, as any condition would."""
        change = self._resolve(self.get(alert_id), user_id, now)
        tracker = self._trackers.get(change.alert.key)
        if tracker is not None:
            tracker.pending_since = None
        return change

    def forget_device(self, device_id: str, now: datetime) -> list[Change]:
        """A device no longer monitored: its alerts resolve (by system) and its state goes."""
        changes = [self._resolve(a, SYSTEM_USER, now) for a in list(self.alerts.values()) if a.device_id == device_id]
        for key in [k for k in self._trackers if k[1] == device_id]:
            del self._trackers[key]
            self._pending.discard(key)
        self._seen_up.pop(device_id, None)
        return changes


@attrs.frozen
class AlertTransition:
    change: ChangeKind = attrs.field(converter=ChangeKind)  # from the store: a str
    status: AlertStatus = attrs.field(converter=AlertStatus)
    by: str | None
    at: datetime
    value: float | None
