"""The route table of the REST API and what every request goes through before its handler.

Routing is a small router of our own rather than Starlette's: the front
(front.py) is our own h11 server with its own Request and Response, so a
framework would need adapters both ways for what is ~100 lines here (match a
path template, 404 or 405 with Allow, hand the handler its path parameters).

Every route is registered with its OpenAPI operation (openapi.py), which names
the least role it needs (events.md: viewer reads, operator acts on alerts and
ML, admin manages devices, rules and users) and the Structs of its body, query
and answer. So /api/openapi.json is built from the same table that serves
requests, and the body and query parameters are decoded into the Structs the
document shows before a handler sees them (inputs.py).

Errors are always ``{"error": {"code", "message"}}`` (errors.py); the codes and
statuses are openapi.ERRORS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import msgspec

from eyenet.auth.access import fleet_wide
from eyenet.auth.model import role_allows
from eyenet.auth.tokens import Claims, TokenAuthority, TokenError
from eyenet.auth.watch import UserWatch
from eyenet.lograte import LogThrottle
from eyenet.store.errors import Damaged
from eyenet.web.http import Request, Response
from eyenet.web.logsafe import guarded_logger
from eyenet.web.rest import inputs
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation

log = guarded_logger("eyenet.rest")

JSON = "application/json"


def answer(shape: msgspec.Struct, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A success body: the Struct its operation declares, encoded as JSON."""
    return Response(status, (("content-type", JSON), *headers), msgspec.json.encode(shape))


@attrs.frozen
class Call:
    """What a handler gets: the request, its path parameters, the verified token's
    claims (None on routes open to anyone), and the body and query parameters as the
    Structs the operation declares (None where it declares none)."""

    request: Request
    params: Mapping[str, str]
    claims: Claims | None
    body: Any = None
    query: Any = None


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
    """Routes, and the checks between a request and its handler: token (signature, time and
    standing: its user exists at the token's generation), role, scope for fleet-wide
    changes, query, body."""

    def __init__(self, authority: TokenAuthority, users: UserWatch) -> None:
        self.authority = authority
        self.users = users
        self.routes: list[Route] = []
        self._failures = LogThrottle()  # a failure a client can trigger, it can repeat
        self._refusals = LogThrottle()  # bodies no honest client sends: a WARNING line a minute at most

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

    async def dispatch(self, request: Request) -> tuple[Route | None, Response]:
        """The matched route (None if none) and the answer: the handler's, or the error envelope."""
        route = None
        try:
            route, params = self.match(request.method, request.path)
            op = route.operation
            claims = await self.authorize(request, op)
            args = inputs.query(request, op.query) if op.query is not None else None
            body = inputs.body(request, op.request) if op.request is not None else None
            return route, await route.handler(Call(request, params, claims, body, args))
        except ApiError as err:
            if isinstance(err, inputs.BodyBeyondBounds):
                self._refusals.log(log, time.monotonic(), "body", "refused a body from %s for %s %s: %s",
                                   request.client, request.method, request.path, err.message)
            return route, err.response()
        except Damaged:
            # Not a bug to log again (the store did, once): the operator's to mend, as /api/health says.
            return route, ApiError("UNAVAILABLE", "the database is damaged: see /api/health").response()
        except Exception:
            self._failures.log(log, time.monotonic(), "handler", "%s %s failed", request.method, request.path,
                               level=logging.ERROR, exc_info=True)
            return route, ApiError("INTERNAL", "internal error (logged on the server)").response()

    async def authorize(self, request: Request, op: Operation) -> Claims | None:
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
            await self.users.admit(claims)
        except TokenError as exc:
            raise ApiError(exc.code, exc.message, headers=(("www-authenticate", 'Bearer realm="eyenet", error="invalid_token"'),)) from None
        if not role_allows(claims.role, op.role):
            raise ApiError("FORBIDDEN", f"this needs the {op.role} role; the token's role is {claims.role}")
        if op.fleet and not fleet_wide(claims.scope):
            raise ApiError("FORBIDDEN", "this changes what holds for every device: only admins without a device scope may")
        return claims


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
