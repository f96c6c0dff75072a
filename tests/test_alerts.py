"""The alert engine (sans-io): rule parsing, evaluation, hysteresis, `for`, lifecycle, windows."""

from datetime import datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eyenet.alerts.engine import HOLD, AlertEngine, AlertNotFound, InvalidTransition, Window
from eyenet.alerts.rules import DEFAULT_RULES, Rule, RuleError, parse_rule
from eyenet.events import DeviceMetrics, DeviceStatus, InterfaceMetrics, MlPrediction, Prediction

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def metrics(device="r1", t=0.0, cpu=None, memory=None, uptime=None, interfaces=()):
    return DeviceMetrics(device_id=device, timestamp=at(t), cpu=cpu, memory=memory, uptime=uptime, interfaces=interfaces)


def itf(name, status="up", admin="up", bps_in=None, bps_out=None, speed=None, errors=(None, None), index=1):
    return InterfaceMetrics(
        if_index=index, name=name, status=status, admin_status=admin, bps_in=bps_in, bps_out=bps_out, speed=speed,
        errors_in=errors[0], errors_out=errors[1],
    )


def status(device="r1", state="up", t=0.0):
    return DeviceStatus(device_id=device, status=state, timestamp=at(t))


def engine(*rules, tags=None):
    ids = iter(f"a{n}" for n in range(1, 1000))
    return AlertEngine(rules, device_tags=lambda d: (tags or {}).get(d, ()), new_id=lambda now: next(ids))


CPU = Rule("cpu", "device.cpu", ">", "warning", threshold=90.0, clear=80.0, for_seconds=20.0)


# -- parsing ---------------------------------------------------------------------------------


def test_parse_rule_from_toml_or_json_shape():
    rule = parse_rule({
        "id": "uplink-hot", "metric": "interface.in_utilization", "op": ">=", "threshold": 80, "clear": 70,
        "for": 60, "severity": "warning", "tags": ["core"], "interfaces": ["Te*"], "message": "{interface} at {value}%",
    })
    assert rule == Rule(
        "uplink-hot", "interface.in_utilization", ">=", "warning", threshold=80.0, clear=70.0, for_seconds=60.0,
        tags=("core",), interfaces=("Te*",), message="{interface} at {value}%",
    )
    assert parse_rule(rule.to_json()) == rule


@pytest.mark.parametrize("data, words", [
    ({"metric": "device.cpu", "op": ">", "threshold": 90, "severity": "warning"}, "id: is required"),
    ({"id": "x", "metric": "cpu", "op": ">", "threshold": 90, "severity": "warning"}, "metric: must be one of"),
    ({"id": "x", "metric": "device.cpu", "op": "~", "threshold": 90, "severity": "warning"}, "op: must be one of"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "threshold": 90, "severity": "major"}, "severity: must be"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "severity": "info"}, "threshold: required"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "threshold": 90, "clear": 95, "severity": "info"}, "clear: must be on the safe side"),
    ({"id": "x", "metric": "device.cpu", "op": "<", "threshold": 10, "clear": 5, "severity": "info"}, "clear: must be on the safe side"),
    ({"id": "x", "metric": "device.cpu", "op": "==", "threshold": 90, "severity": "info"}, "op: device.cpu is a number"),
    ({"id": "x", "metric": "device.status", "op": ">", "threshold": "down", "severity": "info"}, "op: device.status is a state"),
    ({"id": "x", "metric": "device.status", "op": "==", "threshold": "dead", "severity": "info"}, "threshold: device.status is one of"),
    ({"id": "x", "metric": "device.uptime", "op": "decreased", "threshold": 3, "severity": "info"}, "threshold: a 'decreased' rule"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "threshold": 9, "severity": "info", "for": -1}, "for: must be"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "threshold": 9, "severity": "info", "interfaces": ["Gi*"]}, "interfaces: device.cpu is a device metric"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "threshold": 9, "severity": "info", "message": "{cpu}"}, "message: unknown placeholder"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "threshold": 9, "severity": "info", "message": "{"}, "message: bad template"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "threshold": 9, "severity": "info", "tags": [""]}, "tags: must be a list"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "threshold": True, "severity": "info"}, "threshold: must be"),
    ({"id": "x", "metric": "device.cpu", "op": ">", "threshold": 9, "severity": "info", "colour": "red"}, "colour: unknown key"),
    ({"id": "bad id", "metric": "device.cpu", "op": ">", "threshold": 9, "severity": "info"}, "id: 'bad id' must be 1-64"),
])
def test_parse_rule_names_what_is_wrong(data, words):
    with pytest.raises(RuleError) as info:
        parse_rule(data)
    assert words in str(info.value)


def test_parse_rule_names_every_problem_at_once():
    with pytest.raises(RuleError) as info:
        parse_rule({"id": "bad id", "metric": "cpu", "op": "~", "severity": 3, "for": True, "colour": "red"})
    assert info.value.problems == [
        "id: 'bad id' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        "metric: must be one of device.cpu, device.memory, device.status, device.uptime, interface.status, "
        "interface.in_utilization, interface.out_utilization, interface.errors, ml.prediction, not 'cpu'",
        "op: must be one of >, >=, <, <=, ==, !=, decreased, not '~'",
        "severity: must be str, not int 3",
        "for: must be int or float, not bool True",
        "colour: unknown key (expected one of: clear, devices, enabled, for, id, interfaces, labels, message, metric, "
        "name, op, severity, tags, threshold)",
    ]
    assert str(info.value) == "; ".join(info.value.problems)


def test_defaults_are_valid_rules_with_seed_like_messages():
    for rule in DEFAULT_RULES:
        assert parse_rule(rule.to_json()) == rule
    cpu = next(r for r in DEFAULT_RULES if r.id == "cpu-high")
    assert cpu.text("r1", None, 95.0) == "CPU usage exceeded threshold"
    assert cpu.for_seconds == 120 and cpu.threshold == 90


# -- evaluation ---------------------------------------------------------------------------------


def test_condition_must_hold_for_its_duration_and_flapping_inside_raises_nothing():
    e = engine(CPU)
    assert e.observe_metrics(metrics(cpu=95), at(0)) == []
    assert e.observe_metrics(metrics(cpu=95), at(10)) == []
    assert e.observe_metrics(metrics(cpu=85), at(15)) == []  # flapped: the clock restarts
    assert e.observe_metrics(metrics(cpu=95), at(20)) == []
    assert e.observe_metrics(metrics(cpu=95), at(30)) == []
    [change] = e.observe_metrics(metrics(cpu=96), at(40))
    assert change.kind == "new" and change.push
    alert = change.alert
    assert (alert.status, alert.value, alert.threshold, alert.message) == ("open", 96.0, 90.0, "CPU usage exceeded threshold")
    # One open alert per (rule, device): the condition holding on raises nothing more.
    assert e.observe_metrics(metrics(cpu=99), at(100)) == []


def test_hysteresis_resolves_only_below_the_clear_threshold():
    e = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0, clear=80.0))
    [new] = e.observe_metrics(metrics(cpu=91), at(0))
    assert e.observe_metrics(metrics(cpu=85), at(10)) == []  # below the threshold, above clear: still open
    assert e.observe_metrics(metrics(cpu=89), at(20)) == []
    [resolved] = e.observe_metrics(metrics(cpu=80), at(30))
    assert (resolved.kind, resolved.alert.status, resolved.by, resolved.alert.id) == ("resolved", "resolved", "system", new.alert.id)
    assert resolved.alert.value == 80
    # A new excursion is a new alert.
    [again] = e.observe_metrics(metrics(cpu=95), at(40))
    assert again.alert.id != new.alert.id


def test_missing_values_change_nothing():
    e = engine(CPU)
    e.observe_metrics(metrics(cpu=95), at(0))
    e.observe_metrics(metrics(cpu=None), at(10))
    [change] = e.observe_metrics(metrics(cpu=95), at(20))
    assert change.kind == "new"


def test_tick_raises_a_state_that_held_for_its_duration_without_new_samples():
    e = engine(Rule("down", "device.status", "==", "critical", threshold="down", for_seconds=60))
    assert e.observe_status(status(state="down"), at(0)) == []
    assert e.tick(at(59)) == []
    [change] = e.tick(at(60))
    assert (change.alert.message, change.alert.value, change.alert.threshold) == ("Device is down", None, None)
    assert e.tick(at(120)) == []
    [resolved] = e.observe_status(status(state="degraded"), at(130))
    assert resolved.by == "system"


def test_a_device_going_down_drops_pending_metric_conditions():
    e = engine(CPU)
    e.observe_metrics(metrics(cpu=95), at(0))
    e.observe_status(status(state="down"), at(5))
    assert e.tick(at(60)) == []  # no alert from a value nobody can confirm


def test_scope_by_device_tag_and_interface_pattern():
    rule = Rule("hot", "interface.in_utilization", ">", "warning", threshold=50.0, tags=("core",), interfaces=("te*",))
    e = engine(rule, tags={"r1": ("core",), "r2": ("access",)})
    ifs = [itf("Te1/1", bps_in=6e9, speed=1e10, index=1), itf("Gi0/1", bps_in=9e8, speed=1e9, index=2)]
    [change] = e.observe_metrics(metrics("r1", interfaces=ifs), at(0))
    assert (change.alert.interface, change.alert.value) == ("Te1/1", 60.0)
    assert change.alert.message == "Interface Te1/1: inbound utilisation exceeded threshold"
    assert e.observe_metrics(metrics("r2", interfaces=ifs), at(0)) == []


def test_interface_down_only_for_interfaces_seen_up_and_not_shut_on_purpose():
    e = engine(Rule("ifdown", "interface.status", "!=", "info", threshold="up"))
    # Down from the start: not news.
    assert e.observe_metrics(metrics(interfaces=[itf("Gi0/1", "down")]), at(0)) == []
    e.observe_metrics(metrics(interfaces=[itf("Gi0/2", "up")]), at(0))
    [change] = e.observe_metrics(metrics(interfaces=[itf("Gi0/2", "lowerLayerDown")]), at(10))
    assert change.alert.message == "Interface Gi0/2 is lowerLayerDown"
    [resolved] = e.observe_metrics(metrics(interfaces=[itf("Gi0/2", "up")]), at(20))
    assert resolved.kind == "resolved"
    # Shut down administratively: no longer watched.
    assert e.observe_metrics(metrics(interfaces=[itf("Gi0/2", "down", admin="down")]), at(30)) == []
    assert e.observe_metrics(metrics(interfaces=[itf("Gi0/2", "down")]), at(40)) == []


def test_ignored_interfaces_are_never_alerted_on():
    e = engine(Rule("ifdown", "interface.status", "!=", "info", threshold="up"),
               Rule("err", "interface.errors", ">", "warning", threshold=1.0))
    ignored = attrs.evolve(itf("lsi", errors=(5.0, 5.0)), ignored=True)
    assert e.observe_metrics(metrics(interfaces=[ignored]), at(0)) == []
    assert e.observe_metrics(metrics(interfaces=[attrs.evolve(ignored, status="down")]), at(10)) == []


def test_error_rate_and_utilisation_need_their_inputs():
    e = engine(Rule("err", "interface.errors", ">", "warning", threshold=1.0),
               Rule("out", "interface.out_utilization", ">", "warning", threshold=50.0))
    ifs = [itf("Gi0/1", bps_out=9e8, speed=None, errors=(0.5, 0.7))]
    [change] = e.observe_metrics(metrics(interfaces=ifs), at(0))
    assert change.alert.rule_id == "err" and change.alert.value == pytest.approx(1.2)


def test_reboot_is_uptime_going_back_and_resolves_after_the_clear_uptime():
    rebooted = next(r for r in DEFAULT_RULES if r.id == "rebooted")
    e = engine(rebooted)
    assert e.observe_metrics(metrics(uptime=5000), at(0)) == []
    assert e.observe_metrics(metrics(uptime=5060), at(60)) == []
    [change] = e.observe_metrics(metrics(uptime=40), at(120))
    assert (change.alert.message, change.alert.severity, change.alert.value) == ("Device rebooted", "info", 40.0)
    assert e.observe_metrics(metrics(uptime=100), at(180)) == []
    [resolved] = e.observe_metrics(metrics(uptime=3600), at(3700))
    assert resolved.by == "system"


# -- lifecycle -----------------------------------------------------------------------------------


def test_acknowledge_then_resolve_by_users():
    e = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0))
    [new] = e.observe_metrics(metrics(cpu=95), at(0))
    ack = e.acknowledge(new.alert.id, "u-alice", at(5))
    assert (ack.kind, ack.alert.status, ack.alert.updated_by, ack.by) == ("acknowledged", "acknowledged", "u-alice", "u-alice")
    with pytest.raises(InvalidTransition):
        e.acknowledge(new.alert.id, "u-bob", at(6))
    assert e.observe_metrics(metrics(cpu=97), at(10)) == []  # still firing, already known
    done = e.resolve(new.alert.id, "u-bob", at(20))
    assert (done.alert.status, done.alert.updated_by) == ("resolved", "u-bob")
    with pytest.raises(AlertNotFound):
        e.resolve(new.alert.id, "u-bob", at(21))
    # The condition still holds: it raises again, as a new alert.
    [again] = e.observe_metrics(metrics(cpu=97), at(30))
    assert again.kind == "new" and again.alert.id != new.alert.id


def test_acknowledged_alert_still_resolves_itself():
    e = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0))
    [new] = e.observe_metrics(metrics(cpu=95), at(0))
    e.acknowledge(new.alert.id, "u-alice", at(1))
    [resolved] = e.observe_metrics(metrics(cpu=50), at(10))
    assert (resolved.alert.status, resolved.by) == ("resolved", "system")


def test_restored_alerts_are_not_raised_again():
    first = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0))
    [new] = first.observe_metrics(metrics(cpu=95), at(0))
    ack = first.acknowledge(new.alert.id, "u-alice", at(1))
    second = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0))
    second.restore([ack.alert])
    assert second.observe_metrics(metrics(cpu=99), at(100)) == []
    assert second.get(new.alert.id).status == "acknowledged"
    [resolved] = second.observe_metrics(metrics(cpu=10), at(110))
    assert resolved.alert.id == new.alert.id


def test_changing_rules_resolves_alerts_of_rules_gone_or_out_of_scope():
    e = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0),
               Rule("mem", "device.memory", ">", "warning", threshold=90.0), tags={"r1": ("core",)})
    [cpu, mem] = e.observe_metrics(metrics(cpu=95, memory=95), at(0))
    changes = e.set_rules([Rule("mem", "device.memory", ">", "warning", threshold=90.0, tags=("core",))], at(10))
    assert [(c.kind, c.alert.id, c.by) for c in changes] == [("resolved", cpu.alert.id, "system")]
    changes = e.set_rules([Rule("mem", "device.memory", ">", "warning", threshold=90.0, tags=("edge",))], at(20))
    assert [c.alert.id for c in changes] == [mem.alert.id]


def test_forget_device_resolves_its_alerts():
    e = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0))
    e.observe_metrics(metrics(cpu=95), at(0))
    [gone] = e.forget_device("r1", at(5))
    assert gone.alert.status == "resolved" and not e.alerts


# -- maintenance windows --------------------------------------------------------------------------


def test_alerts_inside_a_window_are_recorded_not_pushed_and_pushed_when_it_ends():
    e = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0),
               Rule("mem", "device.memory", ">", "warning", threshold=90.0), tags={"r1": ("lab",)})
    e.set_windows([Window("w1", at(0), at(100), tags=("lab",))])
    [cpu, mem] = e.observe_metrics(metrics(cpu=95, memory=95), at(10))
    assert not cpu.push and not cpu.alert.notified
    # Updates of an alert nobody was told about are not pushed either.
    [gone] = e.observe_metrics(metrics(cpu=10, memory=95), at(20))
    assert gone.alert.id == cpu.alert.id and not gone.push
    assert e.tick(at(99)) == []
    [shown] = e.tick(at(100))
    assert (shown.kind, shown.alert.id, shown.push, shown.alert.notified) == ("notify", mem.alert.id, True, True)
    assert e.tick(at(101)) == []
    ack = e.acknowledge(mem.alert.id, "u-alice", at(102))
    assert ack.push


def test_other_devices_are_not_silenced_and_deleting_a_window_ends_it():
    e = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0))
    e.set_windows([Window("w1", at(0), at(1000), devices=("r1",))])
    [r2] = e.observe_metrics(metrics("r2", cpu=95), at(10))
    [r1] = e.observe_metrics(metrics("r1", cpu=95), at(10))
    assert r2.push and not r1.push
    e.set_windows([])
    [shown] = e.tick(at(20))
    assert shown.alert.id == r1.alert.id


# -- properties -------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("cpu"), st.floats(0, 100)), st.tuples(st.just("tick"), st.integers(0, 30)),
    st.tuples(st.just("ack"), st.just(0)), st.tuples(st.just("resolve"), st.just(0)),
), max_size=60))
def test_at_most_one_active_alert_per_key_and_every_change_is_a_legal_transition(steps):
    e = engine(Rule("cpu", "device.cpu", ">", "warning", threshold=90.0, clear=70.0, for_seconds=15.0))
    t = 0.0
    status = {}
    for kind, value in steps:
        t += 5
        changes = []
        if kind == "cpu":
            changes = e.observe_metrics(metrics(cpu=value), at(t))
        elif kind == "tick":
            changes = e.tick(at(t + value))
        else:
            for alert_id in list(e.alerts):
                try:
                    changes.append((e.acknowledge if kind == "ack" else e.resolve)(alert_id, "u", at(t)))
                except InvalidTransition:
                    pass
        for c in changes:
            before = status.get(c.alert.id)
            assert (before, c.kind) in {(None, "new"), ("open", "acknowledged"), ("open", "resolved"), ("acknowledged", "resolved")}
            status[c.alert.id] = c.alert.status
        assert len(e.alerts) <= 1


# -- topology: alerts of devices cut off by another's failure ------------------------------------------


def test_alerts_behind_a_failed_device_are_linked_to_its_alert_and_not_pushed():
    down = Rule("down", "device.status", "==", "critical", threshold="down", for_seconds=60)
    causes = {}
    e = engine(down)
    e.root_cause = lambda device: causes.get(device)
    e.observe_status(status("acc", "down"), at(0))  # polled first
    e.observe_status(status("dist", "down"), at(20))
    causes["acc"] = HOLD  # dist cuts acc off, and dist's own alert is still pending
    assert e.tick(at(61)) == []
    [dist] = e.tick(at(80))
    assert dist.alert.device_id == "dist" and dist.push
    causes["acc"] = dist.alert.id
    [acc] = e.tick(at(81))
    assert (acc.alert.device_id, acc.alert.suppressed_by, acc.push) == ("acc", dist.alert.id, False)
    # Both come back: the suppressed alert resolves unseen.
    [back] = e.observe_status(status("acc", "up"), at(100))
    assert not back.push
    e.observe_status(status("dist", "up"), at(101))


def test_a_suppressed_alert_whose_cause_is_gone_resolves_unseen_and_a_condition_still_holding_raises_anew():
    down = Rule("down", "device.status", "==", "critical", threshold="down", for_seconds=60)
    causes = {"acc": "al-dist"}
    e = engine(down)
    e.root_cause = lambda device: causes.get(device)
    e.observe_status(status("acc", "down"), at(0))
    [held] = e.tick(at(60))
    assert not held.push and held.alert.suppressed_by == "al-dist"
    causes.clear()  # dist is back; acc is still down
    [gone] = e.tick(at(70))
    assert (gone.kind, gone.alert.id, gone.push) == ("resolved", held.alert.id, False)
    assert e.tick(at(129)) == []
    [fresh] = e.tick(at(130))
    assert fresh.kind == "new" and fresh.push and fresh.alert.suppressed_by is None


# -- rules on anomaly predictions ----------------------------------------------------------------

ANOMALY = Rule("anomaly", "ml.prediction", ">=", "critical", threshold=0.8, labels=("spike", "flapping"), tags=("core",))


def prediction(device="r1", results=(("spike", 0.9),), status="completed", metric="cpu", t=0.0):
    return MlPrediction(
        job_id="job-1", status=status, results=tuple(Prediction(label, c) for label, c in results), timestamp=at(t),
        device_id=device, metric=metric,
    )


def test_prediction_rules_parse_and_name_what_is_wrong():
    data = {"id": "anomaly", "metric": "ml.prediction", "op": ">=", "threshold": 0.8, "severity": "critical",
            "labels": ["spike", "flapping"], "tags": ["core"]}
    assert parse_rule(data) == ANOMALY and parse_rule(ANOMALY.to_json()) == ANOMALY
    bad = {**data, "op": "<", "threshold": 0.3, "clear": 0.6, "for": 30, "labels": ["spike", "normal", "wobble"]}
    with pytest.raises(RuleError) as caught:
        parse_rule(bad)
    assert [p.split(":")[0] for p in caught.value.problems] == ["op", "threshold", "clear", "for", "labels"]
    assert "known: spike, drop" in str(caught.value)
    with pytest.raises(RuleError, match="labels: labels are ml.prediction's"):
        parse_rule({**CPU.to_json(), "labels": ["spike"]})


def test_a_prediction_at_the_confidence_raises_one_alert_until_a_user_resolves_it():
    eng = engine(ANOMALY, tags={"r1": ("core",), "r2": ("core",), "r3": ()})
    assert eng.observe_prediction(prediction(results=(("spike", 0.79),)), at(0)) == []  # below the confidence
    assert eng.observe_prediction(prediction(results=(("drop", 0.99),)), at(0)) == []  # not a label asked for
    assert eng.observe_prediction(prediction(results=(("normal", 0.99),)), at(0)) == []
    assert eng.observe_prediction(prediction(status="failed", results=()), at(0)) == []
    assert eng.observe_prediction(prediction("r3"), at(0)) == []  # out of scope
    [change] = eng.observe_prediction(prediction(results=(("drop", 0.99), ("spike", 0.85), ("flapping", 0.95))), at(1))
    alert = change.alert
    assert (change.kind, change.push) == ("new", True)
    assert (alert.metric, alert.severity, alert.value, alert.threshold, alert.message) == (
        "ml.prediction", "critical", 0.95, 0.8, "Anomaly: flapping in cpu")
    assert alert.to_json()["interface"] is None
    # Still open: another finding raises nothing, nor does a normal one resolve it, nor the clock.
    assert eng.observe_prediction(prediction(results=(("spike", 0.99),)), at(2)) == []
    assert eng.observe_prediction(prediction(results=(("normal", 0.99),)), at(3)) == []
    assert eng.tick(at(4000)) == []
    assert [c.alert.device_id for c in eng.observe_prediction(prediction("r2"), at(5))] == ["r2"]
    eng.resolve(alert.id, "u1", at(6))
    [again] = eng.observe_prediction(prediction(), at(7))
    assert again.alert.message == "Anomaly: spike in cpu" and again.alert.id != alert.id


def test_a_prediction_rule_without_labels_takes_any_finding_and_its_template():
    rule = Rule("any", "ml.prediction", ">", "info", threshold=0.5, message="{rule} on {device}: {value}")
    [change] = engine(rule).observe_prediction(prediction(results=(("memory_leak", 0.7),), metric="memory"), at(0))
    assert change.alert.message == "any on r1: 0.7"
    assert engine(rule).observe_prediction(prediction(results=(("normal", 0.99),)), at(0)) == []
