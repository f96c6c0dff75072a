"""The OpenAPI 3.1 document of the REST API, as data, and the request checks it implies.

Each resource module registers its routes with an :class:`Operation` (summary,
least role, request and response schemas, query parameters, error statuses);
:func:`document` turns that route table into /api/openapi.json, so the document
describes exactly what is served. Request bodies are checked against the very
schemas published here (:func:`check`, a JSON Schema subset: the keywords used
below), so what the document says is refused is refused.

The response shapes are events.md's (device, ...); fields it leaves open are
described here. Timestamps are RFC 3339 in the server's UTC offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from eyenet.alerts.engine import ALERT_STATUSES
from eyenet.alerts.rules import METRICS, OPS, RULE_ID
from eyenet.auth.model import MAX_PASSWORD, MIN_PASSWORD, ROLES, USERNAME
from eyenet.devices.model import DEVICE_ID
from eyenet.events import DEVICE_STATUSES, DEVICE_TYPES, INTERFACE_STATUSES, SEVERITIES
from eyenet.snmp.client import VERSIONS

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
    "VALIDATION_FAILED": (422, "a field of the body is missing or wrong; the message names it"),
    "INTERNAL": (500, "a bug or a failing component; the server logs it"),
    "UNAVAILABLE": (503, "too much work is waiting (anomaly jobs): try again later"),
}

# Request bodies: an address or DNS name without blanks or control characters, and a
# poll interval within a second and a day (beyond, a typo polls a device flat out or never).
HOST_PATTERN = "^[^\\u0000-\\u0020\\u007f-\\u009f]+$"
POLL_INTERVAL = (1, 86400)
# The history the poller records (poller.history_samples).
METRIC_PATTERN = r"^(cpu|memory|uptime|bandwidth\.(in|out)|if\.[0-9]{1,10}\.(in|out))$"

_NULLABLE_STRING = {"type": ["string", "null"]}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_NULLABLE_INTEGER = {"type": ["integer", "null"]}
_TAGS = {"type": "array", "items": {"type": "string"}}

_DEVICE_FIELDS = {
    "host": {"type": "string", "maxLength": 253, "pattern": HOST_PATTERN, "description": "IP address or DNS name"},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 161},
    "version": {"enum": list(VERSIONS), "default": "2c", "description": "SNMP version"},
    "community": {"type": "string", "writeOnly": True, "default": "public", "description": "never returned"},
    "pollInterval": {
        "type": "number", "minimum": POLL_INTERVAL[0], "maximum": POLL_INTERVAL[1], "default": 60,
        "description": "seconds between polls",
    },
    "tags": {**_TAGS, "description": "device groups: a user whose scope names one of them sees the device"},
}

def _list_of(key: str, schema: str) -> dict[str, Any]:
    """{key: [schema...]}: how every list answer is wrapped ({"devices": [...]})."""
    return {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 256}}
_RULE_FIELDS = {
    "name": {**_NULLABLE_STRING, "maxLength": 200},
    "metric": {"enum": list(METRICS), "description": "docs/alerts.md describes each metric"},
    "op": {"enum": list(OPS), "description": "decreased: lower than the sample before (uptime: a reboot)"},
    "threshold": {
        "type": ["number", "string", "null"],
        "description": "a number; a state (down, up, ...) for device.status and interface.status; none for decreased",
    },
    "clear": {
        **_NULLABLE_NUMBER,
        "description": "resolve once the value is back past this (hysteresis); default: the threshold",
    },
    "for": {"type": "number", "minimum": 0, "maximum": 604800, "default": 0,
            "description": "seconds the condition must hold before an alert is raised"},
    "severity": {"enum": list(SEVERITIES)},
    "devices": {**_STRINGS, "description": "device ids; with tags empty too: every device"},
    "tags": {**_STRINGS, "description": "devices carrying one of these tags"},
    "interfaces": {**_STRINGS, "description": "interface name patterns (*, ?, [..]; case-insensitive)"},
    "message": {**_NULLABLE_STRING, "maxLength": 500,
                "description": "template with {device} {interface} {value} {threshold} {metric} {rule}"},
    "enabled": {"type": "boolean", "default": True},
}
_ALERT = {
    "type": "object",
    "required": [
        "alertId", "ruleId", "severity", "deviceId", "interface", "message", "status", "value", "threshold",
        "createdAt", "updatedAt", "updatedBy",
    ],
    "properties": {
        "alertId": {"type": "string"},
        "ruleId": {"type": "string"},
        "severity": {"enum": list(SEVERITIES)},
        "deviceId": {"type": "string"},
        "interface": _NULLABLE_STRING,
        "metric": {"type": "string"},
        "message": {"type": "string"},
        "status": {"enum": list(ALERT_STATUSES)},
        "value": _NULLABLE_NUMBER,
        "threshold": _NULLABLE_NUMBER,
        "createdAt": _TIMESTAMP,
        "updatedAt": _TIMESTAMP,
        "updatedBy": {**_NULLABLE_STRING, "description": "a user id, or 'system'; null while open"},
        "suppressedBy": {
            **_NULLABLE_STRING,
            "description": "the root-cause alert: the device was reachable only through a device that is down "
            "(such alerts are not pushed)",
        },
    },
}
_WINDOW_FIELDS = {
    "starts": _TIMESTAMP,
    "ends": _TIMESTAMP,
    "devices": {**_STRINGS, "description": "device ids silenced"},
    "tags": {**_STRINGS, "description": "devices carrying one of these tags are silenced"},
    "reason": {"type": "string", "maxLength": 500},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"enum": list(ERRORS)}, "message": {"type": "string"}},
            }
        },
    },
    "Login": {
        "type": "object",
        "additionalProperties": False,
        "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string", "maxLength": MAX_PASSWORD}},
    },
    "Token": {
        "type": "object",
        "required": ["token", "expiresAt", "role", "eventKey"],
        "properties": {
            "token": {"type": "string", "description": "a JWT: send it as `Authorization: Bearer <token>`"},
            "expiresAt": _TIMESTAMP,
            "role": {"enum": list(ROLES)},
            "eventKey": {
                "type": "string",
                "description": "base64url key (a JWK `k`) of the JWE `enc` payloads of push sessions using this token",
            },
        },
    },
    "Device": {
        "type": "object",
        "required": ["id", "name", "host", "type", "vendor", "model", "tags", "status", "reason", "lastSeen", "metrics"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string", "description": "the device's id (its sysName is not collected yet)"},
            "host": {"type": "string"},
            "type": {"enum": [*DEVICE_TYPES, None]},
            "vendor": _NULLABLE_STRING,
            "model": _NULLABLE_STRING,
            "tags": _TAGS,
            "status": {"enum": [*DEVICE_STATUSES, None], "description": "null until the first poll"},
            "reason": {**_NULLABLE_STRING, "description": "why down or degraded: timeout, auth, interfaces down: ..."},
            "lastSeen": {"type": ["string", "null"], "format": "date-time"},
            "metrics": {
                "type": "object",
                "required": ["cpu", "memory", "bandwidth", "uptime"],
                "properties": {
                    "cpu": {**_NULLABLE_NUMBER, "description": "percent, one decimal"},
                    "memory": {**_NULLABLE_NUMBER, "description": "percent, one decimal"},
                    "bandwidth": {
                        "type": "object",
                        "required": ["in", "out"],
                        "description": "bit/s summed over the up, non-loopback interfaces",
                        "properties": {"in": _NULLABLE_INTEGER, "out": _NULLABLE_INTEGER},
                    },
                    "uptime": {**_NULLABLE_INTEGER, "description": "seconds"},
                },
            },
            "port": {"type": "integer"},
            "version": {"enum": list(VERSIONS)},
            "pollInterval": {"type": "number"},
            "source": {"enum": ["config", "api"], "description": "config: managed in the configuration file, read-only here"},
        },
    },
    "DeviceList": _list_of("devices", "Device"),
    "NewDevice": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "host"],
        "properties": {"id": {"type": "string", "pattern": DEVICE_ID.pattern}, **_DEVICE_FIELDS},
    },
    "DeviceChange": {
        "type": "object",
        "additionalProperties": False,
        "description": "the fields to change; the id cannot change",
        "properties": _DEVICE_FIELDS,
    },
    "Interfaces": {
        "type": "object",
        "required": ["deviceId", "timestamp", "interfaces"],
        "properties": {
            "deviceId": {"type": "string"},
            "timestamp": {"type": ["string", "null"], "format": "date-time", "description": "of the poll; null before one"},
            "interfaces": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["ifIndex", "name", "status", "in", "out", "errorsIn", "errorsOut"],
                    "properties": {
                        "ifIndex": {"type": "integer"},
                        "name": {"type": "string"},
                        "status": {"enum": list(INTERFACE_STATUSES)},
                        "in": {**_NULLABLE_INTEGER, "description": "bit/s"},
                        "out": {**_NULLABLE_INTEGER, "description": "bit/s"},
                        "errorsIn": {**_NULLABLE_NUMBER, "description": "per second"},
                        "errorsOut": {**_NULLABLE_NUMBER, "description": "per second"},
                    },
                },
            },
        },
    },
    "History": {
        "type": "object",
        "required": ["deviceId", "metric", "from", "to", "step", "points"],
        "properties": {
            "deviceId": {"type": "string"},
            "metric": {"type": "string"},
            "from": _TIMESTAMP,
            "to": _TIMESTAMP,
            "step": {"type": "integer", "description": "seconds per point; 0: every sample"},
            "points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["timestamp", "avg", "min", "max"],
                    "properties": {
                        "timestamp": _TIMESTAMP,
                        "avg": {"type": "number"},
                        "min": {"type": "number"},
                        "max": {"type": "number"},
                    },
                },
            },
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "username", "role", "scope", "createdAt"],
        "properties": {
            "id": {"type": "string"},
            "username": {"type": "string"},
            "role": {"enum": list(ROLES)},
            "scope": {**_TAGS, "description": "device tags; empty: every device"},
            "createdAt": _TIMESTAMP,
        },
    },
    "UserList": _list_of("users", "User"),
    "NewUser": {
        "type": "object",
        "additionalProperties": False,
        "required": ["username", "password", "role"],
        "properties": {
            "username": {"type": "string", "pattern": USERNAME.pattern},
            "password": {"type": "string", "minLength": MIN_PASSWORD, "maxLength": MAX_PASSWORD, "writeOnly": True},
            "role": {"enum": list(ROLES)},
            "scope": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^.*[^\\s].*$"},
                "description": "device tags the user may see; empty or absent: every device",
            },
        },
    },
    "Alert": _ALERT,
    "AlertList": _list_of("alerts", "Alert"),
    "AlertDetail": {
        "type": "object",
        "required": [*_ALERT["required"], "history"],
        "properties": {
            **_ALERT["properties"],
            "history": {
                "type": "array",
                "description": "every change, oldest first",
                "items": {
                    "type": "object",
                    "required": ["change", "status", "by", "at", "value"],
                    "properties": {
                        "change": {"enum": ["new", "acknowledged", "resolved", "notify"],
                                   "description": "notify: pushed after the maintenance window it was raised in"},
                        "status": {"enum": list(ALERT_STATUSES)},
                        "by": _NULLABLE_STRING,
                        "at": _TIMESTAMP,
                        "value": _NULLABLE_NUMBER,
                    },
                },
            },
        },
    },
    "Rule": {
        "type": "object",
        "required": ["id", *_RULE_FIELDS, "source"],
        "properties": {
            "id": {"type": "string"},
            **_RULE_FIELDS,
            "source": {"enum": ["default", "config", "api"],
                       "description": "default: shipped; config: the configuration file, read-only here"},
        },
    },
    "RuleList": _list_of("rules", "Rule"),
    "NewRule": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "metric", "op", "severity"],
        "properties": {"id": {"type": "string", "pattern": RULE_ID.pattern}, **_RULE_FIELDS},
    },
    "RuleBody": {
        "type": "object",
        "additionalProperties": False,
        "required": ["metric", "op", "severity"],
        "description": "the whole rule; an id, if given, must be the path's",
        "properties": {"id": {"type": "string"}, **_RULE_FIELDS},
    },
    "Window": {
        "type": "object",
        "required": ["id", *_WINDOW_FIELDS, "createdBy", "active"],
        "properties": {
            "id": {"type": "string"}, **_WINDOW_FIELDS, "createdBy": _NULLABLE_STRING, "active": {"type": "boolean"},
        },
    },
    "WindowList": _list_of("windows", "Window"),
    "NewWindow": {
        "type": "object",
        "additionalProperties": False,
        "required": ["starts", "ends"],
        "description": "at least one device or tag",
        "properties": _WINDOW_FIELDS,
    },
    "Topology": {
        "type": "object",
        "required": ["nodes", "links", "updatedAt"],
        "properties": {
            "nodes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "type", "name", "managed"],
                    "properties": {
                        "id": {"type": "string"},
                        "type": {"enum": list(DEVICE_TYPES)},
                        "name": {"type": "string"},
                        "managed": {"type": "boolean", "description": "false: a neighbour EyeNet does not monitor"},
                    },
                },
            },
            "links": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["source", "target", "sourcePort", "targetPort", "protocol"],
                    "properties": {
                        "source": {"type": "string"},
                        "target": {"type": "string"},
                        "sourcePort": _NULLABLE_STRING,
                        "targetPort": _NULLABLE_STRING,
                        "protocol": {"enum": ["lldp", "cdp", "cdp+lldp"]},
                    },
                },
            },
            "updatedAt": {"type": ["string", "null"], "format": "date-time",
                          "description": "when the graph last changed; null before the first discovery"},
        },
    },
    "MlJob": {
        "type": "object",
        "required": ["jobId", "status", "results", "reason", "deviceId", "metric", "window", "baseline", "createdAt", "createdBy"],
        "properties": {
            "jobId": {"type": "string"},
            "status": {"enum": ["queued", "running", "completed", "failed"]},
            "results": {
                "type": "array",
                "description": "findings, most confident first: spike, drop, level_shift, flatline, or normal",
                "items": {
                    "type": "object",
                    "required": ["label", "confidence"],
                    "properties": {"label": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
                },
            },
            "reason": {**_NULLABLE_STRING, "description": "why a job failed (not enough history, ...)"},
            "deviceId": {"type": "string"},
            "metric": {"type": "string"},
            "window": {"type": "object", "required": ["from", "to"], "properties": {"from": _TIMESTAMP, "to": _TIMESTAMP}},
            "baseline": {"type": "integer", "description": "seconds before the window it is judged against"},
            "createdAt": _TIMESTAMP,
            "createdBy": _NULLABLE_STRING,
        },
    },
    "NewMlJob": {
        "type": "object",
        "additionalProperties": False,
        "required": ["deviceId", "metric"],
        "properties": {
            "deviceId": {"type": "string", "pattern": DEVICE_ID.pattern},
            "metric": {"type": "string", "pattern": METRIC_PATTERN,
                       "description": "cpu, memory, uptime, bandwidth.in, bandwidth.out, if.<ifIndex>.in|out"},
            "from": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "format": "date-time"}],
                     "description": "Unix seconds or RFC 3339; default: an hour before `to`"},
            "to": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "format": "date-time"}],
                   "description": "Unix seconds or RFC 3339; default: now"},
            "baseline": {"type": "integer", "minimum": 600, "maximum": 90 * 86400,
                         "description": "seconds of history before the window to judge it against; default 7 windows, at most 7 days"},
        },
    },
    "Dot": {"type": "string", "description": "the graph in Graphviz DOT (render with `dot -Tsvg`)"},
    "Accepted": {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["started"]}}},
    "OpenApiDocument": {"type": "object", "required": ["openapi", "info", "paths"]},
    "Prometheus": {"type": "string", "description": "the Prometheus text exposition format, version 0.0.4"},
    "Health": {
        "type": "object",
        "required": ["status", "time", "version", "components"],
        "properties": {
            "status": {"enum": ["ok", "degraded"]},
            "time": _TIMESTAMP,
            "version": {"type": "string"},
            "components": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "component -> 'ok' or what is wrong with it",
            },
        },
    },
}


@attrs.frozen
class Param:
    """A query parameter."""

    name: str
    schema: Mapping[str, Any]
    description: str
    required: bool = False


@attrs.frozen
class Operation:
    summary: str
    tag: str
    role: str | None  # least role; None: no token needed
    response: str | None = None  # schema name (in SCHEMAS) of the success body; None: no body
    status: int = 200
    request: str | None = None  # schema name of the JSON body
    query: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()  # statuses beyond those implied by role, body and path
    media_type: str = "application/json"  # of the success body
    description: str = ""
    # Other forms of the success body, as (media type, schema name): GET /api/topology?format=dot.
    also: tuple[tuple[str, str], ...] = ()


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


def _operation(method: str, path: str, op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": f"{method.lower()}{''.join(p.title() for p in re.split(r'[^A-Za-z]+', path) if p)}",
        "summary": op.summary,
        "tags": [op.tag],
        "description": (op.description + "\n\n" if op.description else "")
        + ("No token needed." if op.role is None else f"Needs the {op.role} role or above."),
        "security": [] if op.role is None else [{"bearer": []}],
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]
    params += [
        {"name": p.name, "in": "query", "required": p.required, "schema": dict(p.schema), "description": p.description}
        for p in op.query
    ]
    if params:
        out["parameters"] = params
    if op.request is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.request}"}}},
        }
    ok: dict[str, Any] = {"description": {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}[op.status]}
    if op.response is not None:
        ok["content"] = {
            media_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}}
            for media_type, schema in ((op.media_type, op.response), *op.also)
        }
    responses = {str(op.status): ok}
    for status in error_statuses(op, path):
        codes = [f"{code}: {why}" for code, (s, why) in ERRORS.items() if s == status]
        responses[str(status)] = {
            "description": "; ".join(codes),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    out["responses"] = responses
    return out


def document(routes: Iterable[tuple[str, str, Operation]], *, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of (method, path template, operation) routes."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, op in routes:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, op)
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
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


# -- request checks ------------------------------------------------------------------------

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _pattern(pattern: str) -> re.Pattern:
    # JSON Schema patterns are ECMA-262 searches; ours are all anchored ^...$, and Python's
    # $ would also match before a final newline: fullmatch the inside instead.
    assert pattern.startswith("^") and pattern.endswith("$"), pattern
    return re.compile(pattern[1:-1])


def check(schema_name: str, value: Any) -> str | None:
    """The first way `value` breaks the named schema, as "field: reason"; None if it conforms."""
    return problem(SCHEMAS[schema_name], value)


def problem(schema: Mapping[str, Any], value: Any, where: str = "") -> str | None:
    """The first way `value` breaks `schema`; `where` names it in the message."""
    name = where or "the body"
    if "enum" in schema and value not in schema["enum"]:
        return f"{name}: {value!r} is not one of {', '.join(map(repr, schema['enum']))}"
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[k](value) for k in kinds):
            return f"{name}: must be {' or '.join(kinds)}, not {json_type(value)}"
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return f"{name}: must be at least {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{name}: must be at most {schema['maxLength']} characters"
        if "pattern" in schema and not _pattern(schema["pattern"]).fullmatch(value):
            return f"{name}: {value[:80]!r} does not match {schema['pattern']}"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{name}: must be at least {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{name}: must be at most {schema['maximum']}"
    elif isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            if found := problem(schema["items"], item, f"{where}[{n}]"):
                return found
    elif isinstance(value, dict):
        properties = schema.get("properties", {})
        for field in schema.get("required", ()):
            if field not in value:
                return f"{_join(where, field)}: is required"
        for field, item in value.items():
            if field in properties:
                if found := problem(properties[field], item, _join(where, field)):
                    return found
            elif schema.get("additionalProperties", True) is False:
                return f"{_join(where, field)}: unknown field (expected one of: {', '.join(properties)})"
    return None


def _join(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field


def json_type(value: Any) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[kind](value):
            return kind
    return type(value).__name__
