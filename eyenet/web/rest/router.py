"""The route table of the REST API and what every request goes through before its handler.

Routing is a small router of our own rather than Starlette's: the front
(front.py) is our own h11 server with its own Request and Response, so a
framework would need adapters both ways for what is ~100 lines here (match a
path template, 404 or 405 with Allow, hand the handler its path parameters).

Every route is registered with its OpenAPI operation (openapi.py), which names
the least role it needs (events.md: viewer reads, operator acts on alerts and
ML, admin manages devices, rules and users) and its request schema. So
/api/openapi.json is built from the same table that serves requests, and each
JSON body is checked against the schema published for it before a handler sees
it.

Errors are always ``{"error": {"code", "message"}}``; the codes and statuses are
openapi.ERRORS.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from eyenet.auth.model import role_allows
from eyenet.auth.tokens import Claims, TokenAuthority, TokenError
from eyenet.events import to_json
from eyenet.web.http import Request, Response
from eyenet.web.rest import openapi
from eyenet.web.rest.openapi import Operation

log = logging.getLogger("eyenet.rest")

JSON = "application/json"


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
    """Routes, and the checks between a request and its handler: role, query, body."""

    def __init__(self, authority: TokenAuthority) -> None:
        self.authority = authority
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

    async def dispatch(self, request: Request) -> tuple[Route | None, Response]:
        """The matched route (None if none) and the answer: the handler's, or the error envelope."""
        route = None
        try:
            route, params = self.match(request.method, request.path)
            claims = self.authorize(request, route.operation)
            _check_query(request, route.operation)
            body = _json_body(request, route.operation.request) if route.operation.request else None
            return route, await route.handler(Call(request, params, claims, body))
        except ApiError as err:
            return route, err.response()
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return route, ApiError("INTERNAL", "internal error (logged on the server)").response()

    def authorize(self, request: Request, op: Operation) -> Claims | None:
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


def _check_query(request: Request, op: Operation) -> None:
    """A route that takes query parameters refuses ones it does not know: a typo
    (`severty=critical`) would otherwise silently widen the answer."""
    if not op.query:
        return
    known = {p.name for p in op.query}
    unknown = sorted(name for name in request.query if name not in known)
    if unknown:
        raise ApiError("INVALID_PARAMETER", f"{unknown[0][:40]!r}: unknown parameter (known: {', '.join(sorted(known))})")


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
