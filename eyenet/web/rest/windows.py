"""Maintenance windows: alerts raised inside one are recorded, not pushed."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from eyenet.alerts.engine import Window
from eyenet.auth.tokens import Claims
from eyenet.events import rfc3339
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import ApiError, Call, Router
from eyenet.web.rest.services import Services
from eyenet.web.rest.times import moment

log = logging.getLogger("eyenet.rest")


@attrs.frozen
class WindowRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/maintenance", self.windows, Operation(
            "Maintenance windows: alerts raised inside one are recorded, not pushed", "alerts", "viewer", "WindowList",
        ))
        add("POST", "/api/maintenance", self.add_window, Operation(
            "Silence devices (by id or tag) between two times", "alerts", "operator", "Window", status=201,
            request="NewWindow", description="When the window ends, alerts it held back that are still open are pushed.",
        ))
        add("DELETE", "/api/maintenance/{id}", self.delete_window, Operation(
            "End a maintenance window now", "alerts", "operator", status=204,
        ))

    def _view(self, window: Window) -> dict[str, Any]:
        tz = self.services.tz
        return {
            "id": window.id, "starts": rfc3339(window.starts, tz), "ends": rfc3339(window.ends, tz),
            "devices": list(window.devices), "tags": list(window.tags), "reason": window.reason,
            "createdBy": window.created_by, "active": window.starts <= datetime.now(timezone.utc) < window.ends,
        }

    def _visible(self, claims: Claims, window: Window) -> bool:
        devices = self.services.scoped_devices(claims)
        return devices is None or (set(window.tags) <= set(claims.scope) and set(window.devices) <= set(devices))

    async def windows(self, call: Call) -> Response:
        return Response.json({
            "windows": [self._view(w) for w in self.services.alerts.windows() if self._visible(call.claims, w)]
        })

    async def add_window(self, call: Call) -> Response:
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
        if not self._visible(call.claims, window):
            raise ApiError("FORBIDDEN", f"a scoped user silences only devices and tags of its scope ({', '.join(call.claims.scope)})")
        await self.services.alerts.put_window(window)
        log.info("maintenance window %s (%s) added by %s", window.id, window.reason or "no reason", call.claims.user_id)
        return Response.json(self._view(window), 201)

    async def delete_window(self, call: Call) -> Response:
        window = next((w for w in self.services.alerts.windows() if w.id == call.params["id"]), None)
        if window is None or not self._visible(call.claims, window):
            raise ApiError("NOT_FOUND", f"no maintenance window {call.params['id']!r}")
        await self.services.alerts.delete_window(window.id)
        return Response(204)


def _body_time(body: Mapping[str, Any], name: str) -> datetime:
    parsed = moment(body[name])
    if parsed is None:
        raise ApiError("VALIDATION_FAILED", f"{name}: {body[name][:40]!r} is not an RFC 3339 time with an offset")
    return parsed
