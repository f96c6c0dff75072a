"""Alert rules: list, read, add, replace and delete those not from the configuration file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from eyenet.alerts.rules import Rule, RuleError, parse_rule
from eyenet.alerts.service import RuleFromConfig
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import ApiError, Call, Router
from eyenet.web.rest.services import Services


@attrs.frozen
class RuleRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/rules", self.rules, Operation("The alert rules", "rules", "viewer", "RuleList"))
        add("POST", "/api/rules", self.add_rule, Operation(
            "Add an alert rule", "rules", "admin", "Rule", status=201, request="NewRule", errors=(409,),
        ))
        add("GET", "/api/rules/{id}", self.rule, Operation("One alert rule", "rules", "viewer", "Rule"))
        add("PUT", "/api/rules/{id}", self.put_rule, Operation(
            "Create or replace an alert rule", "rules", "admin", "Rule", request="RuleBody", errors=(409,),
            description="Open alerts of a changed rule stay open until its clear condition holds; a rule whose "
            "scope no longer covers an alert's device resolves it. Rules from the configuration file are changed there (409).",
        ))
        add("DELETE", "/api/rules/{id}", self.delete_rule, Operation(
            "Delete an alert rule; its alerts resolve", "rules", "admin", status=204, errors=(409,),
            description="Rules from the configuration file are removed there (409). A shipped rule deleted here stays deleted.",
        ))

    @staticmethod
    def _view(rule: Rule, source: str) -> dict[str, Any]:
        return {**rule.to_json(), "source": source}

    async def rules(self, call: Call) -> Response:
        return Response.json({"rules": [self._view(r, s) for r, s in self.services.alerts.rules()]})

    def _find(self, rule_id: str) -> tuple[Rule, str]:
        for rule, source in self.services.alerts.rules():
            if rule.id == rule_id:
                return rule, source
        raise ApiError("NOT_FOUND", f"no rule {rule_id!r}")

    async def rule(self, call: Call) -> Response:
        return Response.json(self._view(*self._find(call.params["id"])))

    @staticmethod
    def _parsed(body: Mapping[str, Any], rule_id: str | None = None) -> Rule:
        try:
            return parse_rule(body, rule_id=rule_id)
        except RuleError as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None

    async def _store(self, rule: Rule, status: int) -> Response:
        try:
            await self.services.alerts.put_rule(rule)
        except RuleFromConfig as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        return Response.json(self._view(rule, "api"), status, (("location", f"/api/rules/{rule.id}"),))

    async def add_rule(self, call: Call) -> Response:
        rule = self._parsed(call.body)
        if any(r.id == rule.id for r, _ in self.services.alerts.rules()):
            raise ApiError("CONFLICT", f"a rule {rule.id!r} exists: PUT /api/rules/{rule.id} replaces it")
        return await self._store(rule, 201)

    async def put_rule(self, call: Call) -> Response:
        rule_id = call.params["id"]
        if call.body.get("id", rule_id) != rule_id:
            raise ApiError("VALIDATION_FAILED", f"id: {call.body['id']!r} is not the path's {rule_id!r} (ids do not change)")
        body = {k: v for k, v in call.body.items() if k != "id"}
        return await self._store(self._parsed(body, rule_id), 200)

    async def delete_rule(self, call: Call) -> Response:
        try:
            deleted = await self.services.alerts.delete_rule(call.params["id"])
        except RuleFromConfig as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        if not deleted:
            raise ApiError("NOT_FOUND", f"no rule {call.params['id']!r}")
        return Response(204)
