"""Users: list, read, create, change and delete (admins without a device scope only).

A change of password, role or scope and a deletion revoke the user's tokens: refused from
the next call on, its push connections closed within a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import attrs
import msgspec
from msgspec import Meta

from eyenet.auth import audit, initial
from eyenet.auth.model import MAX_PASSWORD, MIN_PASSWORD, ROLES, USERNAME, AuthError, check_password, check_scope
from eyenet.auth.users import hashed, new_user
from eyenet.store.errors import AlreadyExists, LastAdmin
from eyenet.web.http import Response
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Timestamp, changes_of, exact, given


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(pattern=exact(USERNAME))]
    password: Annotated[str, Meta(
        min_length=MIN_PASSWORD, max_length=MAX_PASSWORD, extra_json_schema={"writeOnly": True},
        description=f"at least {MIN_PASSWORD} characters, not one of the most common passwords, not the username",
    )]
    role: Literal[ROLES]
    scope: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=64, pattern=exact(r"^.*[^\s].*$"))]],
        Meta(description="device tags the user may see; empty or absent: every device"),
    ] = []


UserChanges = changes_of(
    "UserChanges", NewUser, without=("username",),
    doc="What changes (absent: unchanged); any change revokes the user's tokens.",
)


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
        # All fleet-wide: a scoped admin could otherwise create an unscoped user and see past its scope.
        add = router.add
        add("GET", "/api/users", self.users, Operation("The users", "users", "admin", UserList, fleet=True))
        add("POST", "/api/users", self.add_user, Operation(
            "Create a user", "users", "admin", User, status=201, request=NewUser, errors=(409,), fleet=True,
        ))
        add("GET", "/api/users/{id}", self.user, Operation("One user", "users", "admin", User, fleet=True))
        add("PATCH", "/api/users/{id}", self.change_user, Operation(
            "Change a user's password, role or scope", "users", "admin", User, request=UserChanges, errors=(409,),
            fleet=True, description="Revokes the user's tokens (its push connections close within a second); "
            "the last admin keeps the admin role (409).",
        ))
        add("DELETE", "/api/users/{id}", self.remove_user, Operation(
            "Delete a user (not the last admin)", "users", "admin", status=204, errors=(409,), fleet=True,
            description="Its tokens are refused from then on, and its push connections close within a second.",
        ))

    def _view(self, user) -> User:
        return User(user.id, user.username, user.role, list(user.scope), self.services.time(user.created_at))

    async def _find(self, user_id: str):
        user = await self.services.store.user_by_id(user_id)
        if user is None:
            raise ApiError("NOT_FOUND", f"no user {user_id!r}")
        return user

    async def users(self, call: Call) -> Response:
        return answer(UserList([self._view(u) for u in await self.services.store.users()]))

    async def user(self, call: Call) -> Response:
        return answer(self._view(await self._find(call.params["id"])))

    async def add_user(self, call: Call) -> Response:
        body = call.body
        try:
            user = await new_user(body.username, body.role, body.password, body.scope)
            await self.services.store.add_user(user)
        except AuthError as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        except AlreadyExists as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        await audit.record(self.services.store, "user-added", username=user.username, user_id=user.id,
                           actor=call.claims.user_id, detail=f"role={user.role} scope={','.join(user.scope)}")
        return answer(self._view(user), 201, (("location", f"/api/users/{user.id}"),))

    async def change_user(self, call: Call) -> Response:
        user = await self._find(call.params["id"])
        body = call.body
        password, role, scope = given(body.password), given(body.role), given(body.scope)
        if password is None and role is None and scope is None:
            raise ApiError("VALIDATION_FAILED", "name at least one of password, role and scope to change")
        try:
            if password is not None:
                check_password(password, username=user.username)
            tags = None if scope is None else check_scope(scope)
        except AuthError as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        try:
            changed = await self.services.store.change_user(
                user.id, role=role, scope=tags, password_hash=None if password is None else await hashed(password),
            )
        except LastAdmin as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        if changed is None:
            raise ApiError("NOT_FOUND", f"no user {user.id!r}")
        await self.services.users.reload()
        what = [f"role={changed.role}"] if role is not None else []
        what += [f"scope={','.join(changed.scope)}"] if scope is not None else []
        what += ["password"] if password is not None else []
        await audit.record(self.services.store, "user-changed", username=changed.username, user_id=changed.id,
                           actor=call.claims.user_id, detail=" ".join(what))
        if password is not None:
            initial.forget(self._data_dir(), changed.username)
        return answer(self._view(changed))

    async def remove_user(self, call: Call) -> Response:
        user = await self._find(call.params["id"])
        try:
            removed = await self.services.store.delete_user(user.id)
        except LastAdmin as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        if not removed:
            raise ApiError("NOT_FOUND", f"no user {user.id!r}")
        await self.services.users.reload()
        await audit.record(self.services.store, "user-deleted", username=user.username, user_id=user.id,
                           actor=call.claims.user_id)
        initial.forget(self._data_dir(), user.username)
        return Response(204)

    def _data_dir(self) -> Path:
        return Path(self.services.store.path).parent
