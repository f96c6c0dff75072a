"""Alert rules, sans-io: what a rule is, how one is read from JSON or TOML, and the shipped defaults.

A rule names a metric, a comparison with a threshold, a separate clear threshold
(hysteresis), how long the condition must hold (`for`), a severity and a scope (devices
by id or tag, interfaces by name pattern). `parse_rule` names every problem it finds.
"""

from __future__ import annotations

import fnmatch
import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import attrs

from eyenet.events import INTERFACE_STATUSES, ML_LABELS, SEVERITIES, Prediction
from eyenet.validate import Check, Invalid, Reader, join

# A sample a rule compares: a number, or a state metric's value ("up", "down", ...).
Value = float | str

RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@attrs.frozen
class MetricInfo:
    subject: str  # "device" or "interface"
    label: str  # as messages read it: "CPU usage"
    values: tuple[str, ...] = ()  # a state metric's values; () for a numeric metric


# The metrics a rule can watch. Interface metrics are evaluated per interface, and only
# for interfaces that are administratively up and have been seen up since EyeNet started
# watching them: an interface down from the start, or shut down on purpose, is not news.
METRICS: dict[str, MetricInfo] = {
    "device.cpu": MetricInfo("device", "CPU usage"),  # percent
    "device.memory": MetricInfo("device", "Memory usage"),  # percent
    "device.status": MetricInfo("device", "Device status", ("up", "down", "degraded")),
    "device.uptime": MetricInfo("device", "Uptime"),  # seconds
    "interface.status": MetricInfo("interface", "Interface status", INTERFACE_STATUSES),  # ifOperStatus
    "interface.in_utilization": MetricInfo("interface", "Inbound utilisation"),  # percent of ifSpeed
    "interface.out_utilization": MetricInfo("interface", "Outbound utilisation"),
    "interface.errors": MetricInfo("interface", "Error rate"),  # in + out errors per second
    # An ml:prediction of the device (a job's or a scheduled scan's): its confidence, for the labels asked.
    "ml.prediction": MetricInfo("device", "Anomaly"),
}
PREDICTION = "ml.prediction"
PREDICTION_LABELS = tuple(label for label in ML_LABELS if label != "normal")
MIN_CONFIDENCE = 0.5  # below it no finding is given (docs/anomaly.md)
NUMERIC_OPS = (">", ">=", "<", "<=")
STATE_OPS = ("==", "!=")
# "decreased": the sample is lower than the one before (uptime going back: a reboot).
OPS = NUMERIC_OPS + STATE_OPS + ("decreased",)
MESSAGE_FIELDS = ("device", "interface", "value", "threshold", "metric", "rule")


class RuleError(Invalid, ValueError):
    """A rule that cannot be used; `problems` names each bad key and why."""

    separator = "; "


def _holds(op: str, value: float, threshold: float) -> bool:
    if op == ">":
        return value > threshold
    if op == ">=":
        return value >= threshold
    if op == "<":
        return value < threshold
    return value <= threshold


@attrs.frozen
class Rule:
    id: str
    metric: str
    op: str
    severity: str
    threshold: float | str | None = None  # None only for "decreased"
    clear: float | None = None  # numeric ops: resolve once the value is back past this; None: the threshold
    for_seconds: float = 0.0
    devices: tuple[str, ...] = ()  # scope: () = every device ...
    tags: tuple[str, ...] = ()  # ... or those with one of these tags (both given: either)
    interfaces: tuple[str, ...] = ()  # interface name patterns (fnmatch, case-insensitive); () = all
    message: str | None = None  # template; None: a default for the metric and comparison
    enabled: bool = True
    name: str | None = None
    labels: tuple[str, ...] = ()  # ml.prediction: the labels that raise an alert; () = any but normal

    @property
    def subject(self) -> str:
        return METRICS[self.metric].subject

    def applies_to(self, device_id: str, tags: Iterable[str]) -> bool:
        if not self.devices and not self.tags:
            return True
        return device_id in self.devices or any(t in self.tags for t in tags)

    def watches_interface(self, name: str) -> bool:
        return not self.interfaces or any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in self.interfaces)

    def firing(self, value: Value, previous: Value | None) -> bool:
        """Whether the condition holds for this sample (previous: the sample before, for "decreased")."""
        if self.op == "==":
            return value == self.threshold
        if self.op == "!=":
            return value != self.threshold
        # The other ops compare numbers: parse_rule allows them on numeric metrics only, with a
        # number for threshold, which the type of a sample cannot say.
        number = cast(float, value)
        if self.op == "decreased":
            return previous is not None and number < cast(float, previous)
        return _holds(self.op, number, cast(float, self.threshold))

    def cleared(self, value: Value, previous: Value | None) -> bool:
        """Whether an open alert resolves on this sample: the value is back on the safe side of `clear`."""
        if self.op in STATE_OPS:
            return not self.firing(value, previous)
        number = cast(float, value)  # numeric ops only: see firing
        if self.op == "decreased":
            return number >= self.clear if self.clear is not None else not self.firing(value, previous)
        clear = cast(float, self.threshold) if self.clear is None else self.clear
        return not _holds(self.op, number, clear)

    def finding(self, results: Iterable[Prediction]) -> Prediction | None:
        """ml.prediction: the most confident result of the rule's labels that meets its threshold."""
        hits = [
            p for p in results if (p.label in self.labels if self.labels else p.label != "normal")
            and _holds(self.op, p.confidence, cast(float, self.threshold))
        ]
        return max(hits, key=lambda p: p.confidence, default=None)

    def text(self, device_id: str, interface: str | None, value: Value | None, finding: str | None = None) -> str:
        """finding: what an ml.prediction found ("spike in cpu"), for its default message."""
        if finding is not None and self.message is None:
            return f"Anomaly: {finding}"
        fields = {
            "device": device_id, "interface": interface or "", "value": _show(value), "metric": self.metric,
            "threshold": _show(self.threshold), "rule": self.name or self.id,
        }
        if self.message is not None:
            return self.message.format_map(fields)
        return default_message(self, interface, value)

    def wire_threshold(self) -> float | None:
        return self.threshold if isinstance(self.threshold, (int, float)) else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "metric": self.metric, "op": self.op, "threshold": self.threshold,
            "clear": self.clear, "for": self.for_seconds, "severity": self.severity, "devices": list(self.devices),
            "tags": list(self.tags), "interfaces": list(self.interfaces), "message": self.message, "enabled": self.enabled,
            "labels": list(self.labels),
        }


def _show(value: Value | None) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def default_message(rule: Rule, interface: str | None, value: Value | None) -> str:
    """Messages read like the seed's: "CPU usage exceeded threshold"."""
    info = METRICS[rule.metric]
    if rule.metric == "device.uptime" and rule.op == "decreased":
        return "Device rebooted"
    if info.values:
        what = f"Interface {interface}" if info.subject == "interface" else "Device"
        return f"{what} is {value}"
    if rule.op == "decreased":
        phrase = f"{info.label} went back"
    elif rule.op in (">", ">="):
        phrase = f"{info.label} exceeded threshold"
    else:
        phrase = f"{info.label} fell below threshold"
    return f"Interface {interface}: {phrase[0].lower()}{phrase[1:]}" if info.subject == "interface" else phrase


# -- parsing: one validator for the configuration file and the REST API -------------------------


def _rule_id(value: str) -> str | None:
    if RULE_ID.fullmatch(value):
        return None
    return f"{value!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"


def _template(message: str) -> str | None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(message) if name is not None}
    except ValueError as exc:
        return f"bad template: {exc}"
    if unknown := sorted(names - set(MESSAGE_FIELDS)):
        return f"unknown placeholder(s) {unknown} (known: {', '.join(MESSAGE_FIELDS)})"
    return None if message.strip() else "must not be empty"


# A rule as TOML and JSON give it (`for`, not for_seconds; null for "not set" where a Rule has None).
_RULE_KEYS = {
    "id": Check(str, required=True, test=_rule_id),
    "name": Check(str | None),
    "metric": Check(str, required=True, choices=tuple(METRICS)),
    "op": Check(str, required=True, choices=OPS),
    "threshold": Check(float | str | None),
    "clear": Check(float | None),
    "for": Check(float, ge=0, le=7 * 86400, unit=" seconds"),
    "severity": Check(str, required=True, choices=SEVERITIES),
    "devices": Check(tuple[str, ...]),
    "tags": Check(tuple[str, ...]),
    "interfaces": Check(tuple[str, ...]),
    "message": Check(str | None, test=_template),
    "enabled": Check(bool),
    "labels": Check(tuple[str, ...]),
}


def parse_rule(data: Mapping[str, Any], *, rule_id: str | None = None) -> Rule:
    """A Rule from a TOML table or a JSON object; RuleError naming every problem.
    rule_id: the id when it comes from elsewhere (a REST path)."""
    r = Reader()
    rule = read_rule(r, data, rule_id=rule_id)
    r.raise_problems(RuleError)
    assert rule is not None  # no rule comes only with problems, raised above
    return rule


def read_rule(r: Reader, data: Mapping[str, Any], key: str = "", *, rule_id: str | None = None) -> Rule | None:
    """parse_rule for a caller reading more than one rule: None once the problems, under `key`, are on `r`."""
    if not isinstance(data, Mapping):
        r.problem(key, f"a rule is an object/table, not {type(data).__name__}")
        return None
    if rule_id is not None:
        data = {**data, "id": rule_id}
    before = len(r.problems)
    v = r.table(data, key, _RULE_KEYS)

    def problem(name: str, reason: str) -> None:
        r.problem(join(key, name), reason)

    # Checked against their choices by the table (an absent one is reported as required).
    metric: str = v.get("metric", "")
    op: str = v.get("op", "")
    threshold, clear = v.get("threshold"), v.get("clear")
    info = METRICS.get(metric)
    # A threshold or clear of the wrong type is reported already: how they pair tells nothing more.
    paired = all(name in v or name not in data for name in ("threshold", "clear"))
    if metric == PREDICTION:
        _check_prediction(problem, v, data)
    elif v.get("labels"):
        problem("labels", f"labels are {PREDICTION}'s: {metric} has none")
    if info is not None and op and paired and metric != PREDICTION:
        if info.values:
            if op not in STATE_OPS:
                problem("op", f"{metric} is a state: use == or !=")
            elif threshold not in info.values:
                problem("threshold", f"{metric} is one of {', '.join(info.values)}, not {threshold!r}")
            if clear is not None:
                problem("clear", f"{metric} is a state: it clears when the comparison stops holding")
        elif op in STATE_OPS:
            problem("op", f"{metric} is a number: use {', '.join(NUMERIC_OPS)} or decreased")
        elif op == "decreased":
            if threshold is not None:
                problem("threshold", "a 'decreased' rule has no threshold (clear: resolve once the value reaches it)")
        elif not isinstance(threshold, float):
            problem("threshold", f"required: a number for {metric}")
        elif clear is not None:
            # Hysteresis: the clear threshold is on the safe side of the threshold (or equal).
            if (op in (">", ">=") and clear > threshold) or (op in ("<", "<=") and clear < threshold):
                problem("clear", f"must be on the safe side of threshold {threshold:g} for {op} (hysteresis)")
    if v.get("interfaces") and info is not None and info.subject != "interface":
        problem("interfaces", f"{metric} is a device metric: interface patterns do not apply")
    if len(r.problems) > before:
        return None
    return Rule(
        id=v["id"], metric=metric, op=op, severity=v["severity"], threshold=threshold, clear=clear,
        for_seconds=v.get("for", 0.0), devices=v.get("devices", ()), tags=v.get("tags", ()),
        interfaces=v.get("interfaces", ()), message=v.get("message"), enabled=v.get("enabled", True),
        name=v.get("name"), labels=v.get("labels", ()),
    )


def _check_prediction(problem: Callable[[str, str], None], v: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    """An ml.prediction rule: a minimum confidence (op >= or >), known labels; a prediction is
    one finding, so neither `for` nor `clear` applies."""
    op, threshold = v.get("op"), v.get("threshold")
    if op and op not in (">=", ">"):
        problem("op", f"{PREDICTION} compares the confidence: use >= or >")
    if "threshold" in v or "threshold" not in data:  # a wrong type is reported already
        if not isinstance(threshold, float) or not MIN_CONFIDENCE <= threshold <= 1:
            problem("threshold", f"required: the minimum confidence, {MIN_CONFIDENCE} to 1, for {PREDICTION}")
    if v.get("clear") is not None:
        problem("clear", f"a {PREDICTION} alert does not clear by itself: it is resolved by a user")
    if v.get("for"):
        problem("for", f"a prediction is one finding: {PREDICTION} rules have no 'for'")
    if unknown := [label for label in v.get("labels", ()) if label not in PREDICTION_LABELS]:
        problem("labels", f"unknown label(s) {unknown} (known: {', '.join(PREDICTION_LABELS)})")


# Shipped defaults (docs/alerts.md): what an operator expects before writing any rule.
DEFAULT_RULES: tuple[Rule, ...] = (
    # A minute: long enough for the devices in front of it (polled every minute by default)
    # to be seen down first, so a failure behind another raises only the root cause's alert.
    Rule("device-down", "device.status", "==", "critical", threshold="down", for_seconds=60.0),
    Rule("cpu-high", "device.cpu", ">", "warning", threshold=90.0, clear=80.0, for_seconds=120.0),
    Rule("memory-high", "device.memory", ">", "warning", threshold=90.0, clear=85.0),
    Rule("interface-down", "interface.status", "!=", "info", threshold="up"),
    Rule("rebooted", "device.uptime", "decreased", "info", clear=3600.0),
)


@attrs.frozen
class StoredRule:
    rule: Rule
    source: str  # "default": shipped; "config": the configuration file; "api": through /api/rules
