"""Users: list, read, create and delete (admins without a device scope only)."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import attrs
import msgspec
from msgspec import Meta

from eyenet.auth.model import MAX_PASSWORD, MIN_PASSWORD, ROLES, USERNAME, AuthError
from eyenet.auth.users import new_user
from eyenet.store.errors import AlreadyExists, LastAdmin
from eyenet.web.http import Response
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Timestamp, exact

log = logging.getLogger("eyenet.rest")


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(pattern=exact(USERNAME))]
    password: Annotated[str, Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD, extra_json_schema={"writeOnly": True})]
    role: Literal[ROLES]
    scope: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=64, pattern=exact(r"^.*[^\s].*$"))]],
        Meta(description="device tags the user may see; empty or absent: every device"),
    ] = []


class User(msgspec.Struct, rename="camel"):
    id: str
    username: str
    role: Literal[ROLES]
    scope: Annotated[list[str], Meta(description="device tags; empty: every device")]
    created_at: Timestamp


class UserList(msgspec.Struct):
    users: list[User]


@attrs.frozen
class UserRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/users", self.users, Operation("The users", "users", "admin", UserList))
        add("POST", "/api/users", self.add_user, Operation(
            "Create a user", "users", "admin", User, status=201, request=NewUser, errors=(409,),
        ))
        add("GET", "/api/users/{id}", self.user, Operation("One user", "users", "admin", User))
        add("DELETE", "/api/users/{id}", self.remove_user, Operation(
            "Delete a user (not the last admin)", "users", "admin", status=204, errors=(409,),
            description="Tokens already issued to the user stay valid until they expire; they cannot be refreshed.",
        ))

    @staticmethod
    def _user_admin(call: Call) -> None:
        # A scoped admin could otherwise create an unscoped one and see past its scope.
        if call.claims.scope:
            raise ApiError("FORBIDDEN", "users are managed by admins without a device scope")

    def _view(self, user) -> User:
        return User(user.id, user.username, user.role, list(user.scope), self.services.time(user.created_at))

    async def users(self, call: Call) -> Response:
        self._user_admin(call)
        return answer(UserList([self._view(u) for u in await self.services.store.users()]))

    async def user(self, call: Call) -> Response:
        self._user_admin(call)
        user = await self.services.store.user_by_id(call.params["id"])
        if user is None:
            raise ApiError("NOT_FOUND", f"no user {call.params['id']!r}")
        return answer(self._view(user))

    async def add_user(self, call: Call) -> Response:
        self._user_admin(call)
        body = call.body
        try:
            user = await new_user(body.username, body.role, body.password, body.scope)
            await self.services.store.add_user(user)
        except AuthError as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        except AlreadyExists as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        log.info("user %s (%s) created by %s", user.username, user.role, call.claims.user_id)
        return answer(self._view(user), 201, (("location", f"/api/users/{user.id}"),))

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
