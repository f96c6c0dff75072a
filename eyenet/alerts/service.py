"""The alert service: the Trio edge around the sans-io AlertEngine (alerts.py).

It reads the poller's DeviceStatus and DeviceMetrics and the anomaly jobs' MlPrediction
from the bus, ticks the engine's clock every second, and for every change the engine
reports: stores it (awaited until committed), then publishes the seed's alert:new or
alert:update on the bus and hands it to the notifier (webhooks). Storing first means a change
nobody could see again after a crash is never announced, and an acknowledgement
answered to the REST caller is on disk. REST calls acknowledge(), resolve(), and
manages rules and maintenance windows through here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone, tzinfo
from typing import Any

import trio

from eyenet.alerts.engine import HOLD, Alert, AlertEngine, Change, ChangeKind, Window
from eyenet.alerts.rules import DEFAULT_RULES, Rule, RuleError, StoredRule, parse_rule
from eyenet.bus import Bus, Lagged
from eyenet.daemon.changes import Changes, diff
from eyenet.events import DeviceMetrics, DeviceStatus, MlPrediction
from eyenet.health import Checks, Health, recently
from eyenet.lograte import LogThrottle
from eyenet.store.db import Store
from eyenet.topology.graph import Graph, cut_off, default_root

log = logging.getLogger("eyenet.alerts")

TICK = 1.0  # seconds between clock ticks: `for` durations and window ends are this precise
QUEUE = 10_000  # observations buffered for the engine; an overflow drops the oldest (logged)


class RuleFromConfig(Exception):
    """The rule is defined in the configuration file; it is changed there."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


Notify = Callable[[str, str, dict[str, Any]], None]  # (event type, severity, payload): never blocks


class AlertService:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        device_tags: Callable[[str], Iterable[str] | None],
        *,
        notify: Notify | None = None,
        topology: Callable[[], Graph] | None = None,
        roots: Callable[[], Sequence[str]] | None = None,
        clock: Callable[[], datetime] = _now,
        tz: tzinfo | None = None,
    ) -> None:
        """topology: the current graph, for alerts of devices cut off by another's failure;
        roots: the devices nearest to EyeNet, now (the topology service's choice; default:
        graph.default_root of the current graph)."""
        self.store = store
        self.bus = bus
        # The inventory answers None for a device it no longer has: no tags.
        self.engine = AlertEngine(device_tags=lambda device_id: device_tags(device_id) or (), root_cause=self._root_cause)
        self._topology = topology
        self._roots = roots
        self._down: set[str] = set()  # devices whose last status was down
        self._lag_lines = LogThrottle()
        self._skipped = 0  # observations dropped since the last line that said so
        self._cut: tuple[Graph, frozenset[str], tuple[str, ...], dict[str, str]] | None = None
        self.sources: dict[str, str] = {}
        self._notify = notify
        self._clock = clock
        self._tz = tz
        # Changes are stored and published in the order the engine made them.
        self._lock = trio.Lock()
        self._running = False
        self._failed_at: float | None = None  # time.monotonic() of the last failed evaluation

    async def load(self, configured: Iterable[Rule] = (), devices: Iterable[str] | None = None) -> None:
        """Seed the shipped rules at the first start, write the configured ones (the file wins
        over the store), load rules, windows and the alerts still open. devices: those monitored
        now; alerts of any other (taken out of the configuration meanwhile) resolve."""
        await self.store.seed_rules([r.to_json() for r in DEFAULT_RULES])
        rules = await self._store_configured(configured)
        self.engine.restore(await self.store.alerts(active_only=True))
        self.engine.set_windows(await self.store.windows())
        await self._apply(self.engine.set_rules([s.rule for s in rules], self._clock()))
        if devices is not None:
            gone = {a.device_id for a in self.engine.alerts.values()} - set(devices)
            for device_id in sorted(gone):
                await self.forget_device(device_id)

    async def reload_rules(self, configured: Iterable[Rule]) -> Changes:
        """The configuration file's rules again (a reload), as load() writes them: alerts of a
        rule gone or changed resolve or re-evaluate as after a change through the API.
        Returns what changed among the rules in effect."""
        before = self.engine.rules
        async with self._lock:  # no change is stored or announced while the rules are rewritten
            rules = await self._store_configured(configured)
        await self._apply(self.engine.set_rules([s.rule for s in rules], self._clock()))
        return diff(before, self.engine.rules)

    async def _store_configured(self, configured: Iterable[Rule]) -> list[StoredRule]:
        """Write the configured rules (the file wins over the store) and take out those no longer
        in it; every stored rule, whose sources are now self.sources."""
        from_config = {r.id: r for r in configured}
        for rule in from_config.values():
            await self.store.put_rule(rule.to_json(), "config")
        defaults = {r.id: r for r in DEFAULT_RULES}
        for stored in await self._stored_rules():
            if stored.source == "config" and stored.rule.id not in from_config:
                # Taken out of the file: a shipped rule it overrode comes back, any other goes.
                if stored.rule.id in defaults:
                    await self.store.put_rule(defaults[stored.rule.id].to_json(), "default")
                else:
                    await self.store.delete_rule(stored.rule.id)
        rules = await self._stored_rules()
        self.sources = {s.rule.id: s.source for s in rules}
        return rules

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with self.bus.subscribe(maxlen=QUEUE, types=(DeviceStatus, DeviceMetrics, MlPrediction), name="alerts") as events:
            self._running = True
            task_status.started()
            next_tick = trio.current_time() + TICK
            while True:
                batch = None
                with trio.move_on_at(next_tick):  # only the wait: the engine's changes are never cut short
                    try:
                        batch = await events.receive_batch()
                    except trio.EndOfChannel:  # the bus closed: EyeNet is stopping
                        return
                if batch is None:
                    next_tick = trio.current_time() + TICK
                    batch = [None]
                for item in batch:
                    try:
                        if item is not None:
                            await self.observe(item)
                        else:
                            await self._apply(self.engine.tick(self._clock()))
                    except Exception:  # a failing disk or a bug: logged, and evaluation goes on
                        self._failed_at = time.monotonic()
                        log.exception("alert evaluation failed on %r", item if item is not None else "the clock tick")

    def health(self) -> Health:
        checks = Checks({"openAlerts": len(self.engine.alerts)})  # the engine keeps only unresolved ones
        if not self._running:
            checks.down("alert evaluation is not running")
        if recently(self._failed_at, time.monotonic()):
            checks.degraded("alert evaluation failed lately (see the log)")
        return checks.health()

    async def observe(self, item: DeviceStatus | DeviceMetrics | MlPrediction) -> None:
        now = self._clock()
        if isinstance(item, DeviceMetrics):
            changes = self.engine.observe_metrics(item, now)
        elif isinstance(item, MlPrediction):
            changes = self.engine.observe_prediction(item, now)
        elif isinstance(item, DeviceStatus):
            if item.status == "down":
                self._down.add(item.device_id)
            else:
                self._down.discard(item.device_id)
            changes = self.engine.observe_status(item, now)
        else:
            if isinstance(item, Lagged):
                # One line a minute, with every observation skipped since the last: a machine too
                # busy to evaluate would otherwise also flood the log (tens of lines a second).
                self._skipped += item.missed
                if self._lag_lines.admit("lagged", time.monotonic()) is not None:
                    log.warning("alert evaluation fell behind the poller: %d observations skipped", self._skipped)
                    self._skipped = 0
            return
        await self._apply(changes)

    async def _apply(self, changes: list[Change]) -> None:
        if not changes:
            return
        async with self._lock:
            with trio.CancelScope(shield=True):  # a change half-announced would be worse than a late one
                await self.store.record_alert_changes(changes)
            for change in changes:
                a = change.alert
                log.log(
                    logging.WARNING if change.kind == ChangeKind.NEW and a.severity != "info" else logging.INFO,
                    "alert %s %s: %s %s%s%s", a.id, change.kind, a.device_id, a.message,
                    f" (by {change.by})" if change.by else "", "" if change.push else f" [{self._held_back(a)}: not pushed]",
                )
                if not change.push:
                    continue
                event = change.event()
                self.bus.publish(event)
                if self._notify is not None:
                    try:
                        self._notify(event.TYPE, a.severity, {
                            "type": event.TYPE, "data": event.data(tz=self._tz), "alert": a.to_json(self._tz),
                        })
                    except Exception:
                        log.exception("notifying alert %s failed", a.id)

    def _held_back(self, alert: Alert) -> str:
        """Why an alert is not pushed: the down device it is behind, or a maintenance window."""
        if alert.suppressed_by is None:
            return "maintenance"
        cause = self.engine.alerts.get(alert.suppressed_by)
        behind = f"{cause.device_id} (alert {cause.id})" if cause is not None else f"the device of alert {alert.suppressed_by}"
        return f"suppressed: reachable only through {behind}, which is down"

    def _cut_off(self, graph: Graph) -> dict[str, str]:
        """topology.cut_off for the current graph and down devices, computed once per change of
        either: ticks ask for every held alert each second, and a failed core may hold hundreds."""
        down = frozenset(self._down)
        roots = tuple(self._roots()) if self._roots is not None else ()
        if not roots:
            choice = default_root(graph)
            roots = (choice.device,) if choice is not None else ()
        if self._cut is None or self._cut[0] is not graph or self._cut[1] != down or self._cut[2] != roots:
            self._cut = (graph, down, roots, cut_off(graph, roots, down))
        return self._cut[3]

    def _root_cause(self, device_id: str) -> str | None:
        """The alert of the down device that cuts device_id off from EyeNet (HOLD while that
        alert is still waiting out its `for`), or None. A device that answers (its last status
        is not down) is reachable, whatever the map says: its alerts are its own."""
        if self._topology is None or device_id not in self._down:
            return None
        cause = self._cut_off(self._topology()).get(device_id)
        if cause is None:
            return None
        found = next((
            a.id for a in self.engine.alerts.values()
            if a.device_id == cause and a.metric == "device.status" and a.suppressed_by is None
        ), None)
        if found is None and self.engine.status_pending(cause):
            return HOLD  # the cause's own alert is on its way: it goes first
        return found

    # -- operator actions (REST) --------------------------------------------------------------

    async def acknowledge(self, alert_id: str, user_id: str) -> Alert:
        """AlertNotFound (not open), InvalidTransition (not open)."""
        change = self.engine.acknowledge(alert_id, user_id, self._clock())
        await self._apply([change])
        return change.alert

    async def resolve(self, alert_id: str, user_id: str) -> Alert:
        change = self.engine.resolve(alert_id, user_id, self._clock())
        await self._apply([change])
        return change.alert

    async def forget_device(self, device_id: str) -> None:
        await self._apply(self.engine.forget_device(device_id, self._clock()))

    # -- rules and windows ----------------------------------------------------------------------

    async def _stored_rules(self) -> list[StoredRule]:
        out = []
        for body, source in await self.store.rules():
            try:
                out.append(StoredRule(parse_rule(body), source))
            except RuleError as exc:  # written by another version, or by hand: the others still count
                log.error("stored rule %r is not valid and is ignored: %s", body.get("id"), exc)
        return out

    def rules(self) -> list[tuple[Rule, str]]:
        return [(rule, self.sources[rule.id]) for rule in sorted(self.engine.rules.values(), key=lambda r: r.id)]

    async def put_rule(self, rule: Rule) -> bool:
        """Add or replace a rule (source api); True if it was new. RuleFromConfig for a configured one."""
        if self.sources.get(rule.id) == "config":
            raise RuleFromConfig(f"rule {rule.id!r} is defined in the configuration file: change it there")
        await self.store.put_rule(rule.to_json(), "api")
        created = rule.id not in self.sources
        self.sources[rule.id] = "api"
        rules = self.engine.rules
        rules[rule.id] = rule
        await self._apply(self.engine.set_rules(rules.values(), self._clock()))
        return created

    async def delete_rule(self, rule_id: str) -> bool:
        """False if there is no such rule; its alerts resolve (by system)."""
        if self.sources.get(rule_id) == "config":
            raise RuleFromConfig(f"rule {rule_id!r} is defined in the configuration file: remove it there")
        if not await self.store.delete_rule(rule_id):
            return False
        self.sources.pop(rule_id, None)
        rules = self.engine.rules
        rules.pop(rule_id, None)
        await self._apply(self.engine.set_rules(rules.values(), self._clock()))
        return True

    def windows(self) -> list[Window]:
        return sorted(self.engine.windows.values(), key=lambda w: (w.starts, w.id))

    async def put_window(self, window: Window) -> None:
        await self.store.put_window(window)
        windows = self.engine.windows
        windows[window.id] = window
        self.engine.set_windows(windows.values())

    async def delete_window(self, window_id: str) -> bool:
        """The next tick pushes what the window held back."""
        if not await self.store.delete_window(window_id):
            return False
        windows = self.engine.windows
        windows.pop(window_id, None)
        self.engine.set_windows(windows.values())
        return True
