"""EyeNet itself: GET /api/health and this API's OpenAPI document."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import attrs

from eyenet import __version__
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import JSON, Call, Router
from eyenet.web.rest.services import Services


@attrs.frozen
class SystemRoutes:
    services: Services
    health_fn: Callable[[], Mapping[str, str]] | None  # component name -> "ok" or what is wrong with it
    document: Callable[[], bytes]  # the encoded OpenAPI document, built once every route is registered (this one too)

    def register(self, router: Router) -> None:
        router.add("GET", "/api/health", self.health, Operation("Liveness and the state of each component", "health", None, "Health"))
        router.add("GET", "/api/openapi.json", self.openapi, Operation("This document", "health", None, "OpenApiDocument"))

    async def health(self, call: Call) -> Response:
        components = dict(self.health_fn()) if self.health_fn is not None else {}
        return Response.json({
            "status": "ok" if all(state == "ok" for state in components.values()) else "degraded",
            "time": self.services.time(int(time.time())),
            "version": __version__,
            "components": components,
        })

    async def openapi(self, call: Call) -> Response:
        return Response(200, (("content-type", JSON),), self.document())
