"""The REST API under /api, and /metrics for Prometheus.

Routing is a small router of our own rather than Starlette's: the front
(front.py) is our own h11 server with its own Request and Response, so a
framework would need adapters both ways for what is ~100 lines here (match a
path template, 404 or 405 with Allow, hand the handler its path parameters).

Every route is registered with its OpenAPI operation (openapi.py), which names
the least role it needs (events.md: viewer reads, operator acts on alerts and
ML, admin manages devices, rules and users) and its request schema. So
/api/openapi.json is built from the same table that serves requests, and each
JSON body is checked against the schema published for it before a handler sees
it. Device scope: a scoped user sees only devices that carry one of its tags;
any other device is answered 404, as if it did not exist, so ids do not leak.

Errors are always ``{"error": {"code", "message"}}``; the codes and statuses are
openapi.ERRORS. SNMP credentials are write-only: no response carries them.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timezone, tzinfo
from typing import Any

import attrs

from eyenet import __version__
from eyenet.alerts.engine import ALERT_STATUSES, AlertNotFound, InvalidTransition, Window
from eyenet.alerts.rules import Rule, RuleError, parse_rule
from eyenet.alerts.service import AlertService, RuleFromConfig
from eyenet.anomaly.model import MlJob
from eyenet.anomaly.service import MlService, QueueFull
from eyenet.auth.model import USERNAME, AuthError, role_allows, scope_allows
from eyenet.auth.tokens import Claims, TokenAuthority, TokenError
from eyenet.auth.users import authenticate, new_user
from eyenet.collect.history import HistoryPoint
from eyenet.config import WebSettings
from eyenet.devices.inventory import (
    ConfiguredDevice,
    DeviceExists,
    InvalidDevice,
    Inventory,
    Monitored,
    UnknownDevice,
    changed_device,
    device_from_json,
)
from eyenet.devices.model import DEVICE_ID
from eyenet.events import SEVERITIES, rfc3339, to_json
from eyenet.health import Health, Status, overall
from eyenet.store.db import Store
from eyenet.store.errors import AlreadyExists, LastAdmin
from eyenet.topology.graph import Graph, dot
from eyenet.topology.service import TopologyService
from eyenet.web.http import Request, Response
from eyenet.web.rest import openapi
from eyenet.web.rest.openapi import METRIC_PATTERN, Operation, Param

log = logging.getLogger("eyenet.rest")

JSON = "application/json"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"
DOT = "text/vnd.graphviz; charset=utf-8"
HISTORY_SPAN = 3600  # seconds of history when the request gives no `from`
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z: the last second a datetime can show
# Methods counted by name in eyenet_http_requests_total; others are "other", so a
# client cannot grow the label set.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class ApiError(Exception):
    def __init__(self, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = openapi.ERRORS[code][0]
        self.headers = headers

    def response(self) -> Response:
        return Response.json({"error": {"code": self.code, "message": self.message}}, self.status, self.headers)


@attrs.frozen
class Call:
    """What a handler gets: the request, its path parameters, the verified token's
    claims (None on routes open to anyone) and the checked JSON body."""

    request: Request
    params: Mapping[str, str]
    claims: Claims | None
    body: Any = None


Handler = Callable[[Call], Awaitable[Response]]


@attrs.frozen
class Route:
    method: str
    path: str  # template: /api/devices/{id}
    handler: Handler
    operation: Operation
    segments: tuple[str, ...] = attrs.field(init=False)

    @segments.default
    def _split(self) -> tuple[str, ...]:
        return tuple(self.path.split("/"))


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, path: str, handler: Handler, operation: Operation) -> None:
        self.routes.append(Route(method, path, handler, operation))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and its path parameters; ApiError NOT_FOUND or METHOD_NOT_ALLOWED."""
        parts = path.split("/")
        allowed = set()
        for route in self.routes:
            params = _match(route.segments, parts)
            if params is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, params
            allowed.add(route.method)
        if not allowed:
            raise ApiError("NOT_FOUND", f"nothing is served at {path}")
        if "GET" in allowed:
            allowed.add("HEAD")
        methods = ", ".join(sorted(allowed))
        raise ApiError("METHOD_NOT_ALLOWED", f"{path} takes {methods}, not {method}", headers=(("allow", methods),))


def _match(template: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    if len(template) != len(parts):
        return None
    params = {}
    for want, got in zip(template, parts):
        if want.startswith("{"):
            if not got:
                return None
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


class RestApi:
    """health_fn: component name -> its Health, for /api/health."""

    def __init__(
        self,
        inventory: Inventory,
        store: Store,
        alerts: AlertService,
        topology: TopologyService,
        ml: MlService,
        authority: TokenAuthority,
        *,
        settings: WebSettings = WebSettings(),  # [web] of the configuration: metrics_auth
        health_fn: Callable[[], Mapping[str, Health]] | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        self.inventory = inventory
        self.store = store
        self.alerts = alerts
        self.topology = topology
        self.ml = ml
        self.authority = authority
        self.settings = settings
        self.health_fn = health_fn
        self.tz = tz
        self.started_at = time.time()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.failed_logins = 0
        self.router = Router()
        self._add_routes()
        self.openapi = openapi.document(
            ((r.method, r.path, r.operation) for r in self.router.routes), version=__version__
        )
        self._openapi_json = to_json(self.openapi)

    def _add_routes(self) -> None:
        add = self.router.add
        add("POST", "/api/auth/login", self._login, Operation(
            "A token for a username and password", "auth", None, "Token", request="Login", errors=(401,),
            description="Wrong credentials answer 401 AUTH_INVALID without saying which part was wrong.",
        ))
        add("POST", "/api/auth/refresh", self._refresh, Operation(
            "A fresh token for the bearer's user, with its current role and scope", "auth", "viewer", "Token",
        ))
        add("GET", "/api/devices", self._devices, Operation("The devices in the user's scope", "devices", "viewer", "DeviceList"))
        add("POST", "/api/devices", self._add_device, Operation(
            "Add a device to monitor", "devices", "admin", "Device", status=201, request="NewDevice", errors=(409,),
            description="A scoped admin must give the device one of its scope's tags.",
        ))
        add("GET", "/api/devices/{id}", self._device, Operation("One device", "devices", "viewer", "Device"))
        add("PATCH", "/api/devices/{id}", self._change_device, Operation(
            "Change a device added through the API", "devices", "admin", "Device", request="DeviceChange", errors=(409,),
            description="Devices from the configuration file are changed there (409).",
        ))
        add("DELETE", "/api/devices/{id}", self._remove_device, Operation(
            "Stop monitoring a device added through the API", "devices", "admin", status=204, errors=(409,),
            description="Its history stays until retention removes it. Devices from the configuration file are removed there (409).",
        ))
        add("GET", "/api/devices/{id}/interfaces", self._interfaces, Operation(
            "The device's interfaces with their rates at the last poll", "devices", "viewer", "Interfaces",
        ))
        add("GET", "/api/devices/{id}/metrics", self._history, Operation(
            "History of one metric", "devices", "viewer", "History", query=HISTORY_PARAMS,
            description="Points in [from, to). A step under 300 s reads every sample, 300 s and up the 5-minute "
            "rollup, 3600 s and up the hourly one; a step that is not the table's own width merges its points.",
        ))
        add("GET", "/api/alerts", self._alerts, Operation(
            "Alerts in the user's scope, newest first", "alerts", "viewer", "AlertList", query=ALERT_PARAMS,
        ))
        add("GET", "/api/alerts/{id}", self._alert, Operation(
            "One alert with every change it went through (who, when)", "alerts", "viewer", "AlertDetail",
        ))
        add("POST", "/api/alerts/{id}/acknowledge", self._acknowledge, Operation(
            "Acknowledge an open alert (alert:update, updatedBy: your user id)", "alerts", "operator", "Alert", errors=(409,),
            description="An alert already acknowledged is answered as it is (nothing changes); a resolved one 409.",
        ))
        add("POST", "/api/alerts/{id}/resolve", self._resolve, Operation(
            "Resolve an open or acknowledged alert (alert:update, updatedBy: your user id)", "alerts", "operator", "Alert",
            description="An alert already resolved is answered as it is. If the condition still holds, the rule "
            "raises a new alert after its `for`.",
        ))
        add("GET", "/api/rules", self._rules, Operation("The alert rules", "rules", "viewer", "RuleList"))
        add("POST", "/api/rules", self._add_rule, Operation(
            "Add an alert rule", "rules", "admin", "Rule", status=201, request="NewRule", errors=(409,),
        ))
        add("GET", "/api/rules/{id}", self._rule, Operation("One alert rule", "rules", "viewer", "Rule"))
        add("PUT", "/api/rules/{id}", self._put_rule, Operation(
            "Create or replace an alert rule", "rules", "admin", "Rule", request="RuleBody", errors=(409,),
            description="Open alerts of a changed rule stay open until its clear condition holds; a rule whose "
            "scope no longer covers an alert's device resolves it. Rules from the configuration file are changed there (409).",
        ))
        add("DELETE", "/api/rules/{id}", self._delete_rule, Operation(
            "Delete an alert rule; its alerts resolve", "rules", "admin", status=204, errors=(409,),
            description="Rules from the configuration file are removed there (409). A shipped rule deleted here stays deleted.",
        ))
        add("GET", "/api/maintenance", self._windows, Operation(
            "Maintenance windows: alerts raised inside one are recorded, not pushed", "alerts", "viewer", "WindowList",
        ))
        add("POST", "/api/maintenance", self._add_window, Operation(
            "Silence devices (by id or tag) between two times", "alerts", "operator", "Window", status=201,
            request="NewWindow", description="When the window ends, alerts it held back that are still open are pushed.",
        ))
        add("DELETE", "/api/maintenance/{id}", self._delete_window, Operation(
            "End a maintenance window now", "alerts", "operator", status=204,
        ))
        add("GET", "/api/topology", self._topology, Operation(
            "The topology graph: nodes and links (with local and remote port names)", "topology", "viewer", "Topology",
            query=(Param("format", {"enum": ["json", "dot"]}, "json (default) or dot: Graphviz"),),
            also=((DOT, "Dot"),),
            description="A scoped user sees the devices in its scope, the unmonitored neighbours linked to them, "
            "and the links between those.",
        ))
        add("POST", "/api/topology/discover", self._discover, Operation(
            "Run a discovery cycle now (changes arrive as topology:update)", "topology", "operator", "Accepted", status=202,
        ))
        add("POST", "/api/ml/jobs", self._add_ml_job, Operation(
            "Look for anomalies in one device metric (ml:prediction when done)", "ml", "operator", "MlJob", status=202,
            request="NewMlJob", errors=(404, 503),
            description="The window [from, to) (default: the last hour) is judged against the `baseline` seconds "
            "before it (default: 7 windows, at most 7 days) with robust statistics; labels: spike, drop, "
            "level_shift, flatline, normal (docs/anomaly.md).",
        ))
        add("GET", "/api/ml/jobs/{id}", self._ml_job, Operation("An anomaly job and its results", "ml", "operator", "MlJob"))
        add("GET", "/api/users", self._users, Operation("The users", "users", "admin", "UserList"))
        add("POST", "/api/users", self._add_user, Operation(
            "Create a user", "users", "admin", "User", status=201, request="NewUser", errors=(409,),
        ))
        add("GET", "/api/users/{id}", self._user, Operation("One user", "users", "admin", "User"))
        add("DELETE", "/api/users/{id}", self._remove_user, Operation(
            "Delete a user (not the last admin)", "users", "admin", status=204, errors=(409,),
            description="Tokens already issued to the user stay valid until they expire; they cannot be refreshed.",
        ))
        add("GET", "/api/health", self._health, Operation(
            "Liveness and the state of each component", "health", None, "Health",
            description="503 when a component is down, with this same report as its body.",
        ))
        add("GET", "/api/openapi.json", self._openapi, Operation("This document", "health", None, "OpenApiDocument"))
        add("GET", "/metrics", self._metrics, Operation(
            "Device and EyeNet metrics for Prometheus", "health", "viewer" if self.settings.metrics_auth else None,
            "Prometheus", media_type=PROMETHEUS,
        ))

    # -- dispatch ---------------------------------------------------------------------------------

    async def http(self, request: Request) -> Response:
        label = "unmatched"
        try:
            route, params = self.router.match(request.method, request.path)
            label = route.path
            claims = self._authorize(request, route.operation)
            _check_query(request, route.operation)
            body = _json_body(request, route.operation.request) if route.operation.request else None
            response = await route.handler(Call(request, params, claims, body))
        except ApiError as err:
            response = err.response()
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = ApiError("INTERNAL", "internal error (logged on the server)").response()
        method = request.method if request.method in METHODS else "other"
        self.requests[(method, label, response.status)] += 1
        # Live data and tokens: nothing here is for a cache to keep.
        return attrs.evolve(response, headers=(*response.headers, ("cache-control", "no-store")))

    def _authorize(self, request: Request, op: Operation) -> Claims | None:
        if op.role is None:
            return None
        header = request.header("authorization")
        if header is None:
            raise ApiError(
                "AUTH_REQUIRED", "send Authorization: Bearer <token> (POST /api/auth/login gives one)",
                headers=(("www-authenticate", 'Bearer realm="eyenet"'),),
            )
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError("AUTH_INVALID", "the Authorization header must be 'Bearer <token>'",
                           headers=(("www-authenticate", 'Bearer realm="eyenet"'),))
        try:
            claims = self.authority.verify(token.strip())
        except TokenError as exc:
            raise ApiError(exc.code, exc.message, headers=(("www-authenticate", 'Bearer realm="eyenet", error="invalid_token"'),)) from None
        if not role_allows(claims.role, op.role):
            raise ApiError("FORBIDDEN", f"this needs the {op.role} role; the token's role is {claims.role}")
        return claims

    # -- auth ---------------------------------------------------------------------------------------

    async def _login(self, call: Call) -> Response:
        username, password = call.body["username"], call.body["password"]
        user = await authenticate(self.store, username, password)  # hashes in a worker thread
        if user is None:
            self.failed_logins += 1
            # Never the password; the username only when it could be one (not a password typed in the wrong box).
            shown = repr(username) if USERNAME.fullmatch(username) else "(not a username)"
            log.info("failed login for %s from %s", shown, call.request.client)
            raise ApiError("AUTH_INVALID", "wrong username or password")
        log.info("%s logged in from %s", user.username, call.request.client)
        return self._token(user)

    async def _refresh(self, call: Call) -> Response:
        # The stored user, not the old claims: a changed role or scope applies, a deleted user is refused.
        user = await self.store.user_by_id(call.claims.user_id)
        if user is None:
            raise ApiError("AUTH_INVALID", "the token's user no longer exists")
        return self._token(user)

    def _token(self, user) -> Response:
        issued = self.authority.issue(user)
        return Response.json({
            "token": issued.token,
            "expiresAt": rfc3339(issued.expires_at, self.tz),
            "role": user.role,
            "eventKey": self.authority.event_key_b64(issued.claims),
        })

    # -- devices ------------------------------------------------------------------------------------

    def _visible(self, call: Call) -> Monitored:
        """The device of the path, if the user may see it; NOT_FOUND either way otherwise."""
        device_id = call.params["id"]
        monitored = self.inventory.get(device_id)
        if monitored is None or not scope_allows(call.claims.scope, monitored.config.tags):
            raise ApiError("NOT_FOUND", f"no device {device_id!r}")
        return monitored

    @staticmethod
    def _check_scope(claims: Claims, tags: tuple[str, ...]) -> None:
        if not scope_allows(claims.scope, tags):
            raise ApiError(
                "FORBIDDEN", f"the device must carry one of your scope's tags ({', '.join(claims.scope)}), or you could not see it"
            )

    def _view(self, monitored: Monitored) -> dict[str, Any]:
        """events.md's device shape; what is not known yet is null. Never the credentials."""
        device, live = monitored.config, monitored.live
        if live.metrics is not None:
            metrics = live.metrics.data(tz=self.tz)["metrics"]  # formatted as device:metrics is
        else:
            metrics = {"cpu": None, "memory": None, "bandwidth": {"in": None, "out": None}}
        return {
            "id": device.id,
            "name": device.id,
            "host": device.host,
            "type": None,
            "vendor": None,
            "model": None,
            "tags": list(device.tags),
            "status": live.status,
            "reason": live.reason,
            "lastSeen": rfc3339(live.last_seen, self.tz),
            "metrics": {**metrics, "uptime": live.uptime},
            "port": device.port,
            "version": device.version,
            "pollInterval": device.poll_interval,
            "source": monitored.source,
        }

    async def _devices(self, call: Call) -> Response:
        scope = call.claims.scope
        return Response.json(
            {"devices": [self._view(m) for m in self.inventory.devices() if scope_allows(scope, m.config.tags)]}
        )

    async def _device(self, call: Call) -> Response:
        return Response.json(self._view(self._visible(call)))

    async def _add_device(self, call: Call) -> Response:
        try:
            device = device_from_json(call.body)
        except InvalidDevice as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        self._check_scope(call.claims, device.tags)
        try:
            monitored = await self.inventory.add(device)
        except DeviceExists as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        return Response.json(self._view(monitored), 201, (("location", f"/api/devices/{device.id}"),))

    def _changeable(self, call: Call) -> Monitored:
        monitored = self._visible(call)
        try:
            return self.inventory.changeable(monitored.id)
        except ConfiguredDevice as exc:
            raise ApiError("CONFLICT", str(exc)) from None

    async def _change_device(self, call: Call) -> Response:
        monitored = self._changeable(call)
        try:
            device = changed_device(monitored.config, call.body)
        except InvalidDevice as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        self._check_scope(call.claims, device.tags)
        try:
            monitored = await self.inventory.update(device)
        except UnknownDevice:  # removed by another request meanwhile
            raise ApiError("NOT_FOUND", f"no device {device.id!r}") from None
        return Response.json(self._view(monitored))

    async def _remove_device(self, call: Call) -> Response:
        monitored = self._changeable(call)
        try:
            await self.inventory.remove(monitored.id)
        except UnknownDevice:  # removed by another request meanwhile
            raise ApiError("NOT_FOUND", f"no device {monitored.id!r}") from None
        await self.alerts.forget_device(monitored.id)
        return Response(204)

    async def _interfaces(self, call: Call) -> Response:
        monitored = self._visible(call)
        metrics = monitored.live.metrics
        return Response.json({
            "deviceId": monitored.id,
            "timestamp": None if metrics is None else rfc3339(metrics.timestamp, self.tz),
            "interfaces": [] if metrics is None else [itf.data() for itf in metrics.interfaces],
        })

    async def _history(self, call: Call) -> Response:
        monitored = self._visible(call)
        request = call.request
        metric = request.arg("metric")
        if metric is None:
            raise ApiError("INVALID_PARAMETER", "metric: is required (cpu, memory, uptime, bandwidth.in, bandwidth.out, if.<ifIndex>.in|out)")
        if problem := openapi.problem(_param("metric").schema, metric, "metric"):
            raise ApiError("INVALID_PARAMETER", problem)
        now = int(time.time())
        end = _time_arg(request, "to", now)
        start = _time_arg(request, "from", end - HISTORY_SPAN)
        if start >= end:
            raise ApiError("INVALID_PARAMETER", "from: must be before to")
        step = _step_arg(request, end - start)
        points = await self.store.history(monitored.id, metric, start, end, step)
        return Response.json({
            "deviceId": monitored.id,
            "metric": metric,
            "from": self._time(start),
            "to": self._time(end),
            "step": step,
            "points": [
                {"timestamp": self._time(p.ts), "avg": p.avg, "min": p.min, "max": p.max} for p in merge(points, step)
            ],
        })

    def _time(self, unix: int) -> str:
        return rfc3339(datetime.fromtimestamp(unix, timezone.utc), self.tz)

    # -- alerts ----------------------------------------------------------------------------------------

    def _scoped_devices(self, claims: Claims) -> list[str] | None:
        """The device ids a scoped user sees; None: every device, also those no longer monitored."""
        if not claims.scope:
            return None
        return [m.id for m in self.inventory.devices() if scope_allows(claims.scope, m.config.tags)]

    async def _alerts(self, call: Call) -> Response:
        request = call.request
        status, severity, device_id = request.arg("status"), request.arg("severity"), request.arg("deviceId")
        for name, value, allowed in (("status", status, ALERT_STATUSES + ("active",)), ("severity", severity, SEVERITIES)):
            if value is not None and value not in allowed:
                raise ApiError("INVALID_PARAMETER", f"{name}: must be one of {', '.join(allowed)}, not {value[:40]!r}")
        if device_id is not None and not DEVICE_ID.fullmatch(device_id):
            raise ApiError("INVALID_PARAMETER", f"deviceId: {device_id[:40]!r} is not a device id")
        limit = request.arg("limit")
        limit = str(DEFAULT_ALERTS) if limit is None else limit
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= MAX_ALERTS:
            raise ApiError("INVALID_PARAMETER", f"limit: must be a whole number from 1 to {MAX_ALERTS}")
        alerts = await self.store.alerts(
            active_only=status == "active", status=None if status == "active" else status, severity=severity,
            device_id=device_id, devices=self._scoped_devices(call.claims), limit=int(limit),
        )
        return Response.json({"alerts": [a.to_json(self.tz) for a in alerts]})

    async def _visible_alert(self, call: Call):
        alert_id = call.params["id"]
        found = await self.store.alert(alert_id)
        devices = self._scoped_devices(call.claims)
        if found is None or (devices is not None and found[0].device_id not in devices):
            raise ApiError("NOT_FOUND", f"no alert {alert_id!r}")
        return found

    async def _alert(self, call: Call) -> Response:
        alert, history = await self._visible_alert(call)
        return Response.json({
            **alert.to_json(self.tz),
            "history": [
                {"change": h.change, "status": h.status, "by": h.by, "at": rfc3339(h.at, self.tz), "value": h.value}
                for h in history
            ],
        })

    async def _acknowledge(self, call: Call) -> Response:
        return await self._alert_action(call, self.alerts.acknowledge, "acknowledged")

    async def _resolve(self, call: Call) -> Response:
        return await self._alert_action(call, self.alerts.resolve, "resolved")

    async def _alert_action(self, call: Call, action, target: str) -> Response:
        alert, _ = await self._visible_alert(call)
        # Asking again for what already holds changes nothing and is answered as done, so a
        # client may retry after a lost answer; only acknowledging a resolved alert conflicts.
        if alert.status != target:
            try:
                alert = await action(alert.id, call.claims.user_id)
            except (AlertNotFound, InvalidTransition):
                alert, _ = await self._visible_alert(call)  # changed meanwhile
                if alert.status != target:
                    raise ApiError("CONFLICT", f"alert {alert.id} is {alert.status}: it cannot be {target}") from None
        return Response.json(alert.to_json(self.tz))

    # -- rules and maintenance windows ----------------------------------------------------------------

    @staticmethod
    def _rule_view(rule: Rule, source: str) -> dict[str, Any]:
        return {**rule.to_json(), "source": source}

    async def _rules(self, call: Call) -> Response:
        return Response.json({"rules": [self._rule_view(r, s) for r, s in self.alerts.rules()]})

    def _find_rule(self, rule_id: str) -> tuple[Rule, str]:
        for rule, source in self.alerts.rules():
            if rule.id == rule_id:
                return rule, source
        raise ApiError("NOT_FOUND", f"no rule {rule_id!r}")

    async def _rule(self, call: Call) -> Response:
        return Response.json(self._rule_view(*self._find_rule(call.params["id"])))

    @staticmethod
    def _parsed_rule(body: Mapping[str, Any], rule_id: str | None = None) -> Rule:
        try:
            return parse_rule(body, rule_id=rule_id)
        except RuleError as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None

    async def _store_rule(self, rule: Rule, status: int) -> Response:
        try:
            await self.alerts.put_rule(rule)
        except RuleFromConfig as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        return Response.json(self._rule_view(rule, "api"), status, (("location", f"/api/rules/{rule.id}"),))

    async def _add_rule(self, call: Call) -> Response:
        rule = self._parsed_rule(call.body)
        if any(r.id == rule.id for r, _ in self.alerts.rules()):
            raise ApiError("CONFLICT", f"a rule {rule.id!r} exists: PUT /api/rules/{rule.id} replaces it")
        return await self._store_rule(rule, 201)

    async def _put_rule(self, call: Call) -> Response:
        rule_id = call.params["id"]
        if call.body.get("id", rule_id) != rule_id:
            raise ApiError("VALIDATION_FAILED", f"id: {call.body['id']!r} is not the path's {rule_id!r} (ids do not change)")
        body = {k: v for k, v in call.body.items() if k != "id"}
        return await self._store_rule(self._parsed_rule(body, rule_id), 200)

    async def _delete_rule(self, call: Call) -> Response:
        try:
            deleted = await self.alerts.delete_rule(call.params["id"])
        except RuleFromConfig as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        if not deleted:
            raise ApiError("NOT_FOUND", f"no rule {call.params['id']!r}")
        return Response(204)

    def _window_view(self, window: Window) -> dict[str, Any]:
        return {
            "id": window.id, "starts": rfc3339(window.starts, self.tz), "ends": rfc3339(window.ends, self.tz),
            "devices": list(window.devices), "tags": list(window.tags), "reason": window.reason,
            "createdBy": window.created_by, "active": window.starts <= datetime.now(timezone.utc) < window.ends,
        }

    def _window_visible(self, claims: Claims, window: Window) -> bool:
        devices = self._scoped_devices(claims)
        return devices is None or (set(window.tags) <= set(claims.scope) and set(window.devices) <= set(devices))

    async def _windows(self, call: Call) -> Response:
        return Response.json({
            "windows": [self._window_view(w) for w in self.alerts.windows() if self._window_visible(call.claims, w)]
        })

    async def _add_window(self, call: Call) -> Response:
        body = call.body
        starts, ends = _body_time(body, "starts"), _body_time(body, "ends")
        if ends <= starts:
            raise ApiError("VALIDATION_FAILED", "ends: must be after starts")
        window = Window(
            id=f"mw-{secrets.token_hex(6)}", starts=starts, ends=ends, devices=tuple(body.get("devices", ())),
            tags=tuple(body.get("tags", ())), reason=body.get("reason", ""), created_by=call.claims.user_id,
        )
        if not window.devices and not window.tags:
            raise ApiError("VALIDATION_FAILED", "devices, tags: name at least one device or tag to silence")
        if not self._window_visible(call.claims, window):
            raise ApiError("FORBIDDEN", f"a scoped user silences only devices and tags of its scope ({', '.join(call.claims.scope)})")
        await self.alerts.put_window(window)
        log.info("maintenance window %s (%s) added by %s", window.id, window.reason or "no reason", call.claims.user_id)
        return Response.json(self._window_view(window), 201)

    async def _delete_window(self, call: Call) -> Response:
        window = next((w for w in self.alerts.windows() if w.id == call.params["id"]), None)
        if window is None or not self._window_visible(call.claims, window):
            raise ApiError("NOT_FOUND", f"no maintenance window {call.params['id']!r}")
        await self.alerts.delete_window(window.id)
        return Response(204)

    # -- topology ----------------------------------------------------------------------------------------

    def _scoped_graph(self, claims: Claims) -> Graph:
        graph = self.topology.graph
        if not claims.scope:
            return graph
        managed = {
            n.id for n in graph.nodes.values()
            if n.managed and (tags := self.inventory.device_tags(n.id)) is not None and scope_allows(claims.scope, tags)
        }
        visible = set(managed)
        for link in graph.links:  # unmonitored neighbours of visible devices
            for a, b in ((link.source, link.target), (link.target, link.source)):
                if a in managed and not graph.nodes[b].managed:
                    visible.add(b)
        return Graph(
            {i: n for i, n in graph.nodes.items() if i in visible},
            frozenset(x for x in graph.links if x.source in visible and x.target in visible),
        )

    async def _topology(self, call: Call) -> Response:
        form = call.request.arg("format") or "json"
        if form not in ("json", "dot"):
            raise ApiError("INVALID_PARAMETER", f"format: must be json or dot, not {form[:20]!r}")
        graph = self._scoped_graph(call.claims)
        if form == "dot":
            return Response.text(dot(graph), content_type=DOT)
        return Response.json({**graph.to_json(), "updatedAt": rfc3339(self.topology.updated_at, self.tz)})

    async def _discover(self, call: Call) -> Response:
        self.topology.request()
        log.info("topology discovery requested by %s", call.claims.user_id)
        return Response.json({"status": "started"}, 202)

    # -- anomaly jobs --------------------------------------------------------------------------------

    def _ml_view(self, job: MlJob) -> dict[str, Any]:
        return {
            "jobId": job.id, "status": job.status,
            "results": [{"label": label, "confidence": conf} for label, conf in job.results], "reason": job.reason,
            "deviceId": job.device_id, "metric": job.metric,
            "window": {"from": self._time(job.start), "to": self._time(job.end)}, "baseline": job.baseline,
            "createdAt": self._time(int(job.created_at)), "createdBy": job.created_by,
        }

    async def _add_ml_job(self, call: Call) -> Response:
        body = call.body
        device_id = body["deviceId"]
        monitored = self.inventory.get(device_id)
        if monitored is None or not scope_allows(call.claims.scope, monitored.config.tags):
            raise ApiError("NOT_FOUND", f"no device {device_id!r}")
        now = int(time.time())
        end = _unix(body["to"], "to", "VALIDATION_FAILED") if "to" in body else now
        start = _unix(body["from"], "from", "VALIDATION_FAILED") if "from" in body else end - HISTORY_SPAN
        if start >= end:
            raise ApiError("VALIDATION_FAILED", "from: must be before to")
        if end - start > MAX_ML_WINDOW:
            raise ApiError("VALIDATION_FAILED", f"to: the window is at most {MAX_ML_WINDOW // 86400} days")
        baseline = body.get("baseline", min(7 * (end - start), 7 * 86400))
        try:
            job = await self.ml.submit(device_id, body["metric"], start, end, baseline, call.claims.user_id)
        except QueueFull as exc:
            raise ApiError("UNAVAILABLE", str(exc)) from None
        return Response.json(self._ml_view(job), 202, (("location", f"/api/ml/jobs/{job.id}"),))

    async def _ml_job(self, call: Call) -> Response:
        job = await self.store.ml_job(call.params["id"])
        visible = job is not None and (not call.claims.scope or (
            (tags := self.inventory.device_tags(job.device_id)) is not None and scope_allows(call.claims.scope, tags)
        ))
        if not visible:
            raise ApiError("NOT_FOUND", f"no job {call.params['id']!r}")
        return Response.json(self._ml_view(job))

    # -- users -----------------------------------------------------------------------------------------

    @staticmethod
    def _user_admin(call: Call) -> None:
        # A scoped admin could otherwise create an unscoped one and see past its scope.
        if call.claims.scope:
            raise ApiError("FORBIDDEN", "users are managed by admins without a device scope")

    def _user_view(self, user) -> dict[str, Any]:
        return {
            "id": user.id, "username": user.username, "role": user.role, "scope": list(user.scope),
            "createdAt": self._time(user.created_at),
        }

    async def _users(self, call: Call) -> Response:
        self._user_admin(call)
        return Response.json({"users": [self._user_view(u) for u in await self.store.users()]})

    async def _user(self, call: Call) -> Response:
        self._user_admin(call)
        user = await self.store.user_by_id(call.params["id"])
        if user is None:
            raise ApiError("NOT_FOUND", f"no user {call.params['id']!r}")
        return Response.json(self._user_view(user))

    async def _add_user(self, call: Call) -> Response:
        self._user_admin(call)
        body = call.body
        try:
            user = await new_user(body["username"], body["role"], body["password"], body.get("scope", ()))
            await self.store.add_user(user)
        except AuthError as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        except AlreadyExists as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        log.info("user %s (%s) created by %s", user.username, user.role, call.claims.user_id)
        return Response.json(self._user_view(user), 201, (("location", f"/api/users/{user.id}"),))

    async def _remove_user(self, call: Call) -> Response:
        self._user_admin(call)
        try:
            removed = await self.store.delete_user(call.params["id"])
        except LastAdmin as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        if not removed:
            raise ApiError("NOT_FOUND", f"no user {call.params['id']!r}")
        log.info("user %s deleted by %s", call.params["id"], call.claims.user_id)
        return Response(204)

    # -- health, document, metrics ------------------------------------------------------------------------

    async def _health(self, call: Call) -> Response:
        components = dict(self.health_fn()) if self.health_fn is not None else {}
        whole = overall(components)
        body = {
            "status": whole.status.value,
            "reasons": list(whole.reasons),
            "time": self._time(int(time.time())),
            "version": __version__,
            "components": {name: health.to_json() for name, health in components.items()},
        }
        return Response.json(body, status=503 if whole.status is Status.DOWN else 200)

    async def _openapi(self, call: Call) -> Response:
        return Response(200, (("content-type", JSON),), self._openapi_json)

    async def _metrics(self, call: Call) -> Response:
        scope = call.claims.scope if call.claims is not None else ()
        devices = [m for m in self.inventory.devices() if scope_allows(scope, m.config.tags)]
        out = _Exposition()
        device_metrics(out, devices)
        if not scope:  # counts of all devices and requests are not for a scoped user
            self._self_metrics(out)
        return Response.text(out.text(), content_type=PROMETHEUS)

    def _self_metrics(self, out: _Exposition) -> None:
        out.family("eyenet_build_info", "gauge", "EyeNet's version", [({"version": __version__}, 1)])
        out.family("eyenet_process_start_time_seconds", "gauge", "when EyeNet started (Unix time)", [({}, self.started_at)])
        sources = Counter(m.source for m in self.inventory.devices())
        out.family("eyenet_devices", "gauge", "monitored devices by where they were defined",
                   [({"source": s}, sources[s]) for s in ("config", "api")])
        out.family("eyenet_http_requests_total", "counter", "REST requests answered",
                   [({"method": m, "route": r, "code": str(c)}, n) for (m, r, c), n in sorted(self.requests.items())])
        out.family("eyenet_failed_logins_total", "counter", "logins refused for wrong credentials", [({}, self.failed_logins)])
        out.family("eyenet_store_dropped_samples_total", "counter",
                   "metric samples dropped because the database fell behind", [({}, self.store.dropped_samples)])


# -- request parsing ---------------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _number(text: str) -> float | int:
    """A JSON number with a fraction or exponent. 1.0 is an integer, as JSON Schema has it."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return int(value) if value.is_integer() else value


def _json_body(request: Request, schema: str) -> dict[str, Any]:
    """The body as a JSON object conforming to `schema`; ApiError otherwise."""
    media_type = (request.header("content-type") or "").partition(";")[0].strip().lower()
    if media_type != JSON:
        given = f", not {media_type}" if media_type else " (no Content-Type was sent)"
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", f"send the body as Content-Type: application/json{given}")
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError("INVALID_BODY", f"the body is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise ApiError("INVALID_BODY", "the body is empty: send a JSON object")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_number)
    except json.JSONDecodeError as exc:
        raise ApiError("INVALID_BODY", f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # NaN, 1e999, a 5000-digit integer
        raise ApiError("INVALID_BODY", f"the body is not JSON we accept: {exc}") from None
    except RecursionError:
        raise ApiError("INVALID_BODY", "the body is nested too deeply") from None
    if not isinstance(value, dict):
        raise ApiError("INVALID_BODY", f"the body must be a JSON object, not {openapi.json_type(value)}")
    try:
        to_json(value).decode()
    except UnicodeEncodeError:
        # A lone \ud800-\udfff escape: valid JSON syntax, but not text the database can store.
        raise ApiError("INVALID_BODY", "the body holds an unpaired surrogate escape (\\ud800-\\udfff)") from None
    if problem := openapi.check(schema, value):
        raise ApiError("VALIDATION_FAILED", problem)
    return value


HISTORY_PARAMS = (
    Param("metric", {"type": "string", "pattern": METRIC_PATTERN},
          "cpu, memory, uptime, bandwidth.in, bandwidth.out, or one interface's if.<ifIndex>.in / .out", required=True),
    Param("from", {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_TIME}, {"type": "string", "format": "date-time"}]},
          f"Unix seconds or RFC 3339; default: {HISTORY_SPAN} s before `to`"),
    Param("to", {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_TIME}, {"type": "string", "format": "date-time"}]},
          "Unix seconds or RFC 3339; default: now"),
    Param("step", {"type": "integer", "minimum": 0, "maximum": MAX_TIME},
          "seconds per point, 0 for every sample; default: 0 up to 6 hours, 300 up to 8 days, else 3600"),
)


MAX_ML_WINDOW = 31 * 86400
DEFAULT_ALERTS = 500
MAX_ALERTS = 10_000
ALERT_PARAMS = (
    Param("status", {"enum": [*ALERT_STATUSES, "active"]}, "open, acknowledged, resolved, or active (open or acknowledged)"),
    Param("severity", {"enum": list(SEVERITIES)}, "critical, warning or info"),
    Param("deviceId", {"type": "string", "pattern": DEVICE_ID.pattern}, "one device's alerts"),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_ALERTS}, f"at most this many, newest first (default {DEFAULT_ALERTS})"),
)


def _check_query(request: Request, op: Operation) -> None:
    """A route that takes query parameters refuses ones it does not know: a typo
    (`severty=critical`) would otherwise silently widen the answer."""
    if not op.query:
        return
    known = {p.name for p in op.query}
    unknown = sorted(name for name in request.query if name not in known)
    if unknown:
        raise ApiError("INVALID_PARAMETER", f"{unknown[0][:40]!r}: unknown parameter (known: {', '.join(sorted(known))})")


def _moment(text: str) -> datetime | None:
    """An RFC 3339 time with its offset; None for anything else (a time without offset is ambiguous)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def _body_time(body: Mapping[str, Any], name: str) -> datetime:
    moment = _moment(body[name])
    if moment is None:
        raise ApiError("VALIDATION_FAILED", f"{name}: {body[name][:40]!r} is not an RFC 3339 time with an offset")
    return moment


def _param(name: str) -> Param:
    return next(p for p in HISTORY_PARAMS if p.name == name)


def _time_arg(request: Request, name: str, default: int) -> int:
    text = request.arg(name)
    return default if text is None else _unix(text, name, "INVALID_PARAMETER")


def _unix(value: Any, name: str, code: str) -> int:
    """Unix seconds (an integer, or digits) or an RFC 3339 time, as whole Unix seconds; ApiError(code) otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        seconds = int(value)
    else:
        moment = _moment(value) if isinstance(value, str) else None
        if moment is None:
            raise ApiError(code, f"{name}: {str(value)[:40]!r} is neither Unix seconds nor an RFC 3339 time with an offset")
        seconds = math.floor(moment.timestamp())
    if not 0 <= seconds <= MAX_TIME:
        raise ApiError(code, f"{name}: must be between 1970 and 9999")
    return seconds


def _step_arg(request: Request, span: int) -> int:
    text = request.arg("step")
    if text is None:
        return 0 if span <= 6 * 3600 else 300 if span <= 8 * 86400 else 3600
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_TIME:
        raise ApiError("INVALID_PARAMETER", f"step: {text[:40]!r} is not a whole number of seconds (0 for every sample)")
    return int(text)


def merge(points: list[HistoryPoint], step: int) -> list[HistoryPoint]:
    """Points merged into buckets of `step` seconds (aligned on Unix time). The store
    gives per-bucket averages without counts, so a merged average weighs each
    source point alike: exact for a device polled at a steady interval."""
    if step <= 0:
        return points
    out: list[HistoryPoint] = []
    group: list[HistoryPoint] = []
    for point in points:
        if group and point.ts - point.ts % step != group[0].ts - group[0].ts % step:
            out.append(_merged(group, step))
            group = []
        group.append(point)
    if group:
        out.append(_merged(group, step))
    return out


def _merged(group: list[HistoryPoint], step: int) -> HistoryPoint:
    if len(group) == 1 and group[0].ts % step == 0:
        return group[0]
    return HistoryPoint(
        group[0].ts - group[0].ts % step, sum(p.avg for p in group) / len(group),
        min(p.min for p in group), max(p.max for p in group),
    )


# -- Prometheus exposition -----------------------------------------------------------------------------------


class _Exposition:
    """The text format, version 0.0.4: HELP and TYPE, then one line per sample."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help: str, samples: Iterable[tuple[Mapping[str, str], float | int | None]]) -> None:
        samples = [(labels, value) for labels, value in samples if value is not None]
        if not samples:
            return
        self.lines += [f"# HELP {name} {help}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{label_text}}} {value!r}" if label_text else f"{name} {value!r}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def device_metrics(out: _Exposition, devices: list[Monitored]) -> None:
    """The live state of `devices`, as last polled."""
    statuses = ("up", "down", "degraded")
    known = [m for m in devices if m.live.status is not None]
    polled = [(m, m.live.metrics) for m in devices if m.live.metrics is not None]
    out.family("eyenet_device_up", "gauge", "1 if the device answered its last poll (up or degraded), 0 if not",
               [({"device": m.id}, int(m.live.status != "down")) for m in known])
    out.family("eyenet_device_status", "gauge", "1 for the device's current status",
               [({"device": m.id, "status": s}, int(m.live.status == s)) for m in known for s in statuses])
    out.family("eyenet_device_cpu_percent", "gauge", "CPU use", [({"device": m.id}, x.cpu) for m, x in polled])
    out.family("eyenet_device_memory_percent", "gauge", "memory use", [({"device": m.id}, x.memory) for m, x in polled])
    out.family("eyenet_device_bandwidth_bits_per_second", "gauge", "traffic summed over the up, non-loopback interfaces",
               [({"device": m.id, "direction": d}, v) for m, x in polled
                for d, v in (("in", x.bandwidth_in), ("out", x.bandwidth_out))])
    out.family("eyenet_device_uptime_seconds", "gauge", "time since the device's SNMP agent started",
               [({"device": m.id}, m.live.uptime) for m in devices])
    out.family("eyenet_device_last_seen_timestamp_seconds", "gauge", "when the device last answered (Unix time)",
               [({"device": m.id}, m.live.last_seen.timestamp() if m.live.last_seen else None) for m in devices])
    interfaces = [(m, itf) for m, x in polled for itf in x.interfaces]

    def labels(m: Monitored, itf, **more: str) -> dict[str, str]:
        return {"device": m.id, "ifindex": str(itf.if_index), "name": itf.name, **more}

    out.family("eyenet_interface_up", "gauge", "1 if the interface's operational status is up",
               [(labels(m, itf), int(itf.status == "up")) for m, itf in interfaces])
    out.family("eyenet_interface_bits_per_second", "gauge", "interface traffic",
               [(labels(m, itf, direction=d), v) for m, itf in interfaces for d, v in (("in", itf.bps_in), ("out", itf.bps_out))])
    out.family("eyenet_interface_errors_per_second", "gauge", "interface errors",
               [(labels(m, itf, direction=d), v) for m, itf in interfaces
                for d, v in (("in", itf.errors_in), ("out", itf.errors_out))])

