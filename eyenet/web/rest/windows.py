"""Maintenance windows: alerts raised inside one are recorded, not pushed."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timezone
from typing import Annotated

import attrs
import msgspec
from msgspec import Meta

from eyenet.alerts.engine import Window
from eyenet.auth.tokens import Claims
from eyenet.events import rfc3339
from eyenet.web.http import Response
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Name, answer_of

log = logging.getLogger("eyenet.rest")


class NewWindow(msgspec.Struct, forbid_unknown_fields=True):
    """At least one device or tag."""

    starts: Annotated[datetime, Meta(tz=True)]
    ends: Annotated[datetime, Meta(tz=True)]
    devices: Annotated[list[Name], Meta(description="device ids silenced")] = []
    tags: Annotated[list[Name], Meta(description="devices carrying one of these tags are silenced")] = []
    reason: Annotated[str, Meta(max_length=500)] = ""


# Its times are answered as the server's RFC 3339 strings: the same schema as a datetime's.
MaintenanceWindow = answer_of(
    "Window", NewWindow, before=(("id", str),), after=(("createdBy", str | None), ("active", bool)),
    doc="A maintenance window; active: now is inside it.",
)


class WindowList(msgspec.Struct):
    windows: list[MaintenanceWindow]


@attrs.frozen
class WindowRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/maintenance", self.windows, Operation(
            "Maintenance windows: alerts raised inside one are recorded, not pushed", "alerts", "viewer", WindowList,
        ))
        add("POST", "/api/maintenance", self.add_window, Operation(
            "Silence devices (by id or tag) between two times", "alerts", "operator", MaintenanceWindow, status=201,
            request=NewWindow, description="When the window ends, alerts it held back that are still open are pushed.",
        ))
        add("DELETE", "/api/maintenance/{id}", self.delete_window, Operation(
            "End a maintenance window now", "alerts", "operator", status=204,
        ))

    def _view(self, window: Window) -> MaintenanceWindow:
        tz = self.services.tz
        return MaintenanceWindow(
            id=window.id, starts=rfc3339(window.starts, tz), ends=rfc3339(window.ends, tz), devices=list(window.devices),
            tags=list(window.tags), reason=window.reason, createdBy=window.created_by,
            active=window.starts <= datetime.now(timezone.utc) < window.ends,
        )

    def _visible(self, claims: Claims, window: Window) -> bool:
        return self.services.access.window(claims.scope, window.devices, window.tags)

    async def windows(self, call: Call) -> Response:
        return answer(WindowList([self._view(w) for w in self.services.alerts.windows() if self._visible(call.claims, w)]))

    async def add_window(self, call: Call) -> Response:
        body = call.body
        starts, ends = body.starts, body.ends
        if ends <= starts:
            raise ApiError("VALIDATION_FAILED", "ends: must be after starts")
        window = Window(
            id=f"mw-{secrets.token_hex(6)}", starts=starts, ends=ends, devices=tuple(body.devices),
            tags=tuple(body.tags), reason=body.reason, created_by=call.claims.user_id,
        )
        if not window.devices and not window.tags:
            raise ApiError("VALIDATION_FAILED", "devices, tags: name at least one device or tag to silence")
        if not self._visible(call.claims, window):
            raise ApiError("FORBIDDEN", f"a scoped user silences only devices and tags of its scope ({', '.join(call.claims.scope)})")
        await self.services.alerts.put_window(window)
        log.info("maintenance window %s (%s) added by %s", window.id, window.reason or "no reason", call.claims.user_id)
        return answer(self._view(window), 201)

    async def delete_window(self, call: Call) -> Response:
        window = next((w for w in self.services.alerts.windows() if w.id == call.params["id"]), None)
        if window is None or not self._visible(call.claims, window):
            raise ApiError("NOT_FOUND", f"no maintenance window {call.params['id']!r}")
        await self.services.alerts.delete_window(window.id)
        return Response(204)
