"""EyeNet itself: GET /api/health and this API's OpenAPI document."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import attrs
import msgspec
from msgspec import Meta

from eyenet import __version__
from eyenet.health import Health, Status, overall
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import JSON, Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Timestamp

Figure = int | float | str | bool | None


class HealthReport(msgspec.Struct):
    """ok: working as configured; degraded: working, with something to look at (the reasons);
    down: a part has stopped doing its job (then the answer is 503, with this same body)."""

    status: Literal["ok", "degraded", "down"]
    reasons: Annotated[list[str], Meta(description="every component's reasons, each prefixed with its component's name")]
    time: Timestamp
    version: str
    components: Annotated[
        dict[str, dict[str, Figure | list[str]]],
        Meta(description="store, poller, bus, alerts, topology, ml, push, web: each {status, reasons, ...its figures}"),
    ]


class OpenApiDocument(msgspec.Struct):
    """This document (OpenAPI 3.1)."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@attrs.frozen
class SystemRoutes:
    services: Services
    health_fn: Callable[[], Mapping[str, Health]]  # component name -> its health
    document: Callable[[], bytes]  # the encoded OpenAPI document, built once every route is registered (this one too)

    def register(self, router: Router) -> None:
        router.add("GET", "/api/health", self.health, Operation(
            "Liveness and the state of each component", "health", None, HealthReport,
            description="503 when a component is down, with this same report as its body.",
        ))
        router.add("GET", "/api/openapi.json", self.openapi, Operation("This document", "health", None, OpenApiDocument))

    async def health(self, call: Call) -> Response:
        components = dict(self.health_fn())
        whole = overall(components)
        report = HealthReport(
            whole.status.value, list(whole.reasons), self.services.time(int(time.time())), __version__,
            {name: health.to_json() for name, health in components.items()},
        )
        return answer(report, status=503 if whole.status is Status.DOWN else 200)

    async def openapi(self, call: Call) -> Response:
        return Response(200, (("content-type", JSON),), self.document())
