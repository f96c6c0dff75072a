"""EyeNet itself: GET /api/health and this API's OpenAPI document."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import attrs
import msgspec
from msgspec import Meta

from eyenet import __version__
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import JSON, Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Timestamp


class Health(msgspec.Struct):
    status: Literal["ok", "degraded"]
    time: Timestamp
    version: str
    components: Annotated[dict[str, str], Meta(description="component -> 'ok' or what is wrong with it")]


class OpenApiDocument(msgspec.Struct):
    """This document (OpenAPI 3.1)."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@attrs.frozen
class SystemRoutes:
    services: Services
    health_fn: Callable[[], Mapping[str, str]] | None  # component name -> "ok" or what is wrong with it
    document: Callable[[], bytes]  # the encoded OpenAPI document, built once every route is registered (this one too)

    def register(self, router: Router) -> None:
        router.add("GET", "/api/health", self.health, Operation("Liveness and the state of each component", "health", None, Health))
        router.add("GET", "/api/openapi.json", self.openapi, Operation("This document", "health", None, OpenApiDocument))

    async def health(self, call: Call) -> Response:
        components = dict(self.health_fn()) if self.health_fn is not None else {}
        return answer(Health(
            "ok" if all(state == "ok" for state in components.values()) else "degraded",
            self.services.time(int(time.time())), __version__, components,
        ))

    async def openapi(self, call: Call) -> Response:
        return Response(200, (("content-type", JSON),), self.document())
