"""Users: list, read, create and delete (admins without a device scope only)."""

from __future__ import annotations

import logging
from typing import Any

import attrs

from eyenet.auth.model import AuthError
from eyenet.auth.users import new_user
from eyenet.store.errors import AlreadyExists, LastAdmin
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import ApiError, Call, Router
from eyenet.web.rest.services import Services

log = logging.getLogger("eyenet.rest")


@attrs.frozen
class UserRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/users", self.users, Operation("The users", "users", "admin", "UserList"))
        add("POST", "/api/users", self.add_user, Operation(
            "Create a user", "users", "admin", "User", status=201, request="NewUser", errors=(409,),
        ))
        add("GET", "/api/users/{id}", self.user, Operation("One user", "users", "admin", "User"))
        add("DELETE", "/api/users/{id}", self.remove_user, Operation(
            "Delete a user (not the last admin)", "users", "admin", status=204, errors=(409,),
            description="Tokens already issued to the user stay valid until they expire; they cannot be refreshed.",
        ))

    @staticmethod
    def _user_admin(call: Call) -> None:
        # A scoped admin could otherwise create an unscoped one and see past its scope.
        if call.claims.scope:
            raise ApiError("FORBIDDEN", "users are managed by admins without a device scope")

    def _view(self, user) -> dict[str, Any]:
        return {
            "id": user.id, "username": user.username, "role": user.role, "scope": list(user.scope),
            "createdAt": self.services.time(user.created_at),
        }

    async def users(self, call: Call) -> Response:
        self._user_admin(call)
        return Response.json({"users": [self._view(u) for u in await self.services.store.users()]})

    async def user(self, call: Call) -> Response:
        self._user_admin(call)
        user = await self.services.store.user_by_id(call.params["id"])
        if user is None:
            raise ApiError("NOT_FOUND", f"no user {call.params['id']!r}")
        return Response.json(self._view(user))

    async def add_user(self, call: Call) -> Response:
        self._user_admin(call)
        body = call.body
        try:
            user = await new_user(body["username"], body["role"], body["password"], body.get("scope", ()))
            await self.services.store.add_user(user)
        except AuthError as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        except AlreadyExists as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        log.info("user %s (%s) created by %s", user.username, user.role, call.claims.user_id)
        return Response.json(self._view(user), 201, (("location", f"/api/users/{user.id}"),))

    async def remove_user(self, call: Call) -> Response:
        self._user_admin(call)
        try:
            removed = await self.services.store.delete_user(call.params["id"])
        except LastAdmin as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        if not removed:
            raise ApiError("NOT_FOUND", f"no user {call.params['id']!r}")
        log.info("user %s deleted by %s", call.params["id"], call.claims.user_id)
        return Response(204)
