"""The OpenAPI 3.1 document of the REST API, built from the route table and the shapes.

Each resource module registers its routes with an :class:`Operation` (summary,
least role, the msgspec Structs of its body, query and answer, error statuses);
:func:`document` turns that route table into /api/openapi.json. The schemas are
msgspec's own JSON Schema of the very Structs that decode the requests and build
the answers (shapes.py), so the document and what is served cannot disagree.

The response shapes are events.md's (device, ...); fields it leaves open are
described in their Structs. Timestamps are RFC 3339 in the server's UTC offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any

import attrs
import msgspec
from msgspec import Meta

from eyenet.web.rest.shapes import ecma

REF = "#/components/schemas/{name}"

# code -> (HTTP status, when). The `error.code` of every error response is one of these.
ERRORS: dict[str, tuple[int, str]] = {
    "INVALID_BODY": (400, "the body is not a JSON object in UTF-8"),
    "INVALID_PARAMETER": (400, "a query parameter is missing or malformed; the message names it"),
    "AUTH_REQUIRED": (401, "no `Authorization: Bearer <token>` header"),
    "AUTH_INVALID": (401, "the token (or the username and password) is not accepted"),
    "TOKEN_EXPIRED": (401, "the token has expired: log in again or refresh before `expiresAt`"),
    "FORBIDDEN": (403, "the user's role (or device scope) does not allow this"),
    "NOT_FOUND": (404, "no such resource, or a device outside the user's scope"),
    "METHOD_NOT_ALLOWED": (405, "the path exists, the method does not (see the Allow header)"),
    "CONFLICT": (
        409,
        "the id or username is taken, the device or rule comes from the configuration file, the user is the last "
        "admin, or the alert's status does not allow the change",
    ),
    "UNSUPPORTED_MEDIA_TYPE": (415, "a body must be sent as Content-Type: application/json"),
    "RATE_LIMITED": (429, "too many failed logins for this user name or from this address: retry after `Retry-After` seconds"),
    "VALIDATION_FAILED": (422, "a field of the body is missing or wrong; the message names it"),
    "INTERNAL": (500, "a bug or a failing component; the server logs it"),
    "UNAVAILABLE": (503, "too much work is waiting (anomaly jobs): try again later; or the database is damaged"),
}


class ErrorDetail(msgspec.Struct):
    code: Annotated[str, Meta(extra_json_schema={"enum": list(ERRORS)})]  # in ERRORS' order (a Literal's are sorted)
    message: str


class Error(msgspec.Struct):
    """Every error answer."""

    error: ErrorDetail


@attrs.frozen
class Operation:
    summary: str
    tag: str
    role: str | None  # least role; None: no token needed
    response: Any = None  # Struct of the success body (or an Annotated str for text); None: no body
    status: int = 200
    request: type[msgspec.Struct] | None = None  # of the JSON body
    query: type[msgspec.Struct] | None = None  # its fields are the query parameters
    errors: tuple[int, ...] = ()  # statuses beyond those implied by role, body and path
    media_type: str = "application/json"  # of the success body
    description: str = ""
    # Other forms of the success body, as (media type, shape): GET /api/topology?format=dot.
    also: tuple[tuple[str, Any], ...] = ()
    # Changes a fleet-wide object (auth.access.fleet_wide): refused to a scoped principal.
    fleet: bool = False


def error_statuses(op: Operation, path: str) -> list[int]:
    statuses = set(op.errors) | {400, 500}  # 400: the HTTP layer refuses malformed requests on any route
    if op.role is not None:
        statuses.add(401)
        if op.role != "viewer":
            statuses.add(403)
    if op.request is not None:
        statuses |= {415, 422}
    if "{" in path:
        statuses.add(404)
    return sorted(statuses)


def _operation(method: str, path: str, op: Operation, schemas: _Schemas) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": f"{method.lower()}{''.join(p.title() for p in re.split(r'[^A-Za-z]+', path) if p)}",
        "summary": op.summary,
        "tags": [op.tag],
        "description": (op.description + "\n\n" if op.description else "")
        + ("No token needed." if op.role is None else f"Needs the {op.role} role or above"
           + (", without a device scope (a fleet-wide change)." if op.fleet else ".")),
        "security": [] if op.role is None else [{"bearer": []}],
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]
    if op.query is not None:
        params += schemas.query_parameters(op.query)
    if params:
        out["parameters"] = params
    if op.request is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": schemas.of(op.request)}}}
    ok: dict[str, Any] = {"description": {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}[op.status]}
    if op.response is not None:
        ok["content"] = {
            media_type: {"schema": schemas.of(shape)} for media_type, shape in ((op.media_type, op.response), *op.also)
        }
    responses = {str(op.status): ok}
    for status in error_statuses(op, path):
        codes = [f"{code}: {why}" for code, (s, why) in ERRORS.items() if s == status]
        responses[str(status)] = {
            "description": "; ".join(codes),
            "content": {"application/json": {"schema": schemas.of(Error)}},
        }
    out["responses"] = responses
    return out


class _Schemas:
    """The JSON Schemas of the shapes an operation names. Those shapes are components
    (referenced); the Structs inside them are written out where they are used, so
    each component reads as one object. Patterns are shown as ECMA-262 has them."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        named = [Error]
        for op in operations:
            named += [t for t in (op.request, op.response, *(shape for _, shape in op.also)) if _is_struct(t)]
        self.named = list(dict.fromkeys(named))
        _, found = msgspec.json.schema_components(self.named, ref_template=REF)
        self._found = found
        self.components = {t.__name__: self._written(found[t.__name__]) for t in self.named}

    def of(self, shape: Any) -> dict[str, Any]:
        if _is_struct(shape):
            return {"$ref": REF.format(name=shape.__name__)}
        return self._written(msgspec.json.schema(shape))

    def query_parameters(self, query: type[msgspec.Struct]) -> list[dict[str, Any]]:
        _, found = msgspec.json.schema_components([query], ref_template=REF)
        schema = found[query.__name__]
        out = []
        for name, prop in schema["properties"].items():
            prop = self._written(prop)
            description = prop.pop("description", "")
            out.append({
                "name": name, "in": "query", "required": name in schema.get("required", ()), "schema": prop,
                "description": description,
            })
        return out

    def _written(self, schema: Any) -> Any:
        if isinstance(schema, list):
            return [self._written(item) for item in schema]
        if not isinstance(schema, dict):
            return schema
        ref = schema.get("$ref", "")
        name = ref.rpartition("/")[2]
        if ref and name not in {t.__name__ for t in self.named}:
            inner = dict(self._found[name])
            inner.pop("title", None)
            return self._written(inner)
        return {
            key: ecma(value) if key == "pattern" else self._written(value) for key, value in schema.items()
        }


def _is_struct(shape: Any) -> bool:
    return isinstance(shape, type) and issubclass(shape, msgspec.Struct)


def document(routes: Iterable[tuple[str, str, Operation]], *, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of (method, path template, operation) routes."""
    routes = list(routes)
    schemas = _Schemas(op for _, _, op in routes)
    paths: dict[str, dict[str, Any]] = {}
    for method, path, op in routes:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "EyeNet REST API",
            "version": version,
            "description": (
                "Errors are always `{\"error\": {\"code\", \"message\"}}` with the matching HTTP status. Codes:\n\n"
                + "\n".join(f"- `{code}` ({status}): {why}" for code, (status, why) in ERRORS.items())
                + "\n\nBefore a request reaches the API, the HTTP layer may refuse it with the same error shape: "
                "400 BAD_REQUEST (malformed HTTP), 408 REQUEST_TIMEOUT, 413 BODY_TOO_LARGE, 431 HEADERS_TOO_LARGE."
                "\n\nA scoped user sees only devices that carry one of its scope's tags; "
                "any other device is answered 404, as if it did not exist."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
