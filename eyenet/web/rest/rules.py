"""Alert rules: list, read, add, replace and delete those not from the configuration file.

Rules are fleet-wide (auth.access.fleet_wide): only admins without a device scope change them."""

from __future__ import annotations

from typing import Annotated, Literal

import attrs
import msgspec
from msgspec import UNSET, Meta, UnsetType

from eyenet.alerts.rules import METRICS, OPS, PREDICTION_LABELS, RULE_ID, RuleError, parse_rule
from eyenet.alerts.rules import Rule as AlertRule
from eyenet.alerts.service import RuleFromConfig
from eyenet.events import SEVERITIES
from eyenet.web.http import Response
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Name, answer_of, exact, from_json


class RuleFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a rule is, without its id: the body of PUT, and in NewRule and the answers."""

    name: Annotated[str, Meta(max_length=200)] | None = None
    metric: Annotated[Literal[tuple(METRICS)], Meta(description="docs/alerts.md describes each metric")]
    op: Annotated[Literal[OPS], Meta(description="decreased: lower than the sample before (uptime: a reboot)")]
    threshold: Annotated[float | str | None, Meta(
        description="a number; a state (down, up, ...) for device.status and interface.status; none for decreased; "
        "the minimum confidence (0.5 to 1) for ml.prediction",
    )] = None
    clear: Annotated[float | None, Meta(
        description="resolve once the value is back past this (hysteresis); default: the threshold",
    )] = None
    for_: Annotated[float, Meta(ge=0, le=604800, description="seconds the condition must hold before an alert is raised")] = (
        msgspec.field(name="for", default=0)
    )
    severity: Literal[SEVERITIES]
    devices: Annotated[list[Name], Meta(description="device ids; with tags empty too: every device")] = []
    tags: Annotated[list[Name], Meta(description="devices carrying one of these tags")] = []
    interfaces: Annotated[list[Name], Meta(description="interface name patterns (*, ?, [..]; case-insensitive)")] = []
    message: Annotated[
        Annotated[str, Meta(max_length=500)] | None,
        Meta(description="template with {device} {interface} {value} {threshold} {metric} {rule}"),
    ] = None
    enabled: bool = True
    labels: Annotated[list[Literal[PREDICTION_LABELS]], Meta(
        description="ml.prediction: the prediction labels that raise an alert; empty: any but normal",
    )] = []


class NewRule(RuleFields, kw_only=True):
    id: Annotated[str, Meta(pattern=exact(RULE_ID))]


class RuleBody(RuleFields, kw_only=True):
    """The whole rule; an id, if given, must be the path's."""

    id: str | UnsetType = UNSET


Rule = answer_of(
    "Rule", RuleFields, before=(("id", str),),
    after=(("source", Annotated[Literal["default", "config", "api"], Meta(
        description="default: shipped; config: the configuration file, read-only here",
    )]),),
    doc="An alert rule.",
)


class RuleList(msgspec.Struct):
    rules: list[Rule]


@attrs.frozen
class RuleRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/rules", self.rules, Operation("The alert rules", "rules", "viewer", RuleList))
        add("POST", "/api/rules", self.add_rule, Operation(
            "Add an alert rule", "rules", "admin", Rule, status=201, request=NewRule, errors=(409,), fleet=True,
        ))
        add("GET", "/api/rules/{id}", self.rule, Operation("One alert rule", "rules", "viewer", Rule))
        add("PUT", "/api/rules/{id}", self.put_rule, Operation(
            "Create or replace an alert rule", "rules", "admin", Rule, request=RuleBody, errors=(409,), fleet=True,
            description="Open alerts of a changed rule stay open until its clear condition holds; a rule whose "
            "scope no longer covers an alert's device resolves it. Rules from the configuration file are changed there (409).",
        ))
        add("DELETE", "/api/rules/{id}", self.delete_rule, Operation(
            "Delete an alert rule; its alerts resolve", "rules", "admin", status=204, errors=(409,), fleet=True,
            description="Rules from the configuration file are removed there (409). A shipped rule deleted here stays deleted.",
        ))

    @staticmethod
    def _view(rule: AlertRule, source: str) -> Rule:
        return from_json(Rule, {**rule.to_json(), "source": source})

    async def rules(self, call: Call) -> Response:
        return answer(RuleList([self._view(r, s) for r, s in self.services.alerts.rules()]))

    def _find(self, rule_id: str) -> tuple[AlertRule, str]:
        for rule, source in self.services.alerts.rules():
            if rule.id == rule_id:
                return rule, source
        raise ApiError("NOT_FOUND", f"no rule {rule_id!r}")

    async def rule(self, call: Call) -> Response:
        return answer(self._view(*self._find(call.params["id"])))

    @staticmethod
    def _parsed(body: RuleFields, rule_id: str | None = None) -> AlertRule:
        try:
            return parse_rule(msgspec.to_builtins(body), rule_id=rule_id)
        except RuleError as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None

    async def _store(self, rule: AlertRule, status: int) -> Response:
        try:
            await self.services.alerts.put_rule(rule)
        except RuleFromConfig as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        return answer(self._view(rule, "api"), status, (("location", f"/api/rules/{rule.id}"),))

    async def add_rule(self, call: Call) -> Response:
        rule = self._parsed(call.body)
        if any(r.id == rule.id for r, _ in self.services.alerts.rules()):
            raise ApiError("CONFLICT", f"a rule {rule.id!r} exists: PUT /api/rules/{rule.id} replaces it")
        return await self._store(rule, 201)

    async def put_rule(self, call: Call) -> Response:
        rule_id = call.params["id"]
        if call.body.id not in (UNSET, rule_id):
            raise ApiError("VALIDATION_FAILED", f"id: {call.body.id!r} is not the path's {rule_id!r} (ids do not change)")
        return await self._store(self._parsed(msgspec.structs.replace(call.body, id=UNSET), rule_id), 200)

    async def delete_rule(self, call: Call) -> Response:
        try:
            deleted = await self.services.alerts.delete_rule(call.params["id"])
        except RuleFromConfig as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        if not deleted:
            raise ApiError("NOT_FOUND", f"no rule {call.params['id']!r}")
        return Response(204)
