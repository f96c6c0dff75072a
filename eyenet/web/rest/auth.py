"""Login and token refresh: POST /api/auth/login, POST /api/auth/refresh."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import attrs
import msgspec
from msgspec import Meta

from eyenet.auth.model import MAX_PASSWORD, ROLES, USERNAME
from eyenet.auth.users import authenticate
from eyenet.events import rfc3339
from eyenet.web.http import Response
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Timestamp

log = logging.getLogger("eyenet.rest")


class Login(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: Annotated[str, Meta(max_length=MAX_PASSWORD)]


class Token(msgspec.Struct, rename="camel"):
    token: Annotated[str, Meta(description="a JWT: send it as `Authorization: Bearer <token>`")]
    expires_at: Timestamp
    role: Literal[ROLES]
    event_key: Annotated[str, Meta(
        description="base64url key (a JWK `k`) of the JWE `enc` payloads of push sessions using this token",
    )]


@attrs.frozen
class AuthRoutes:
    services: Services

    def register(self, router: Router) -> None:
        router.add("POST", "/api/auth/login", self.login, Operation(
            "A token for a username and password", "auth", None, Token, request=Login, errors=(401,),
            description="Wrong credentials answer 401 AUTH_INVALID without saying which part was wrong.",
        ))
        router.add("POST", "/api/auth/refresh", self.refresh, Operation(
            "A fresh token for the bearer's user, with its current role and scope", "auth", "viewer", Token,
        ))

    async def login(self, call: Call) -> Response:
        username, password = call.body.username, call.body.password
        user = await authenticate(self.services.store, username, password)  # hashes in a worker thread
        if user is None:
            self.services.counters.failed_logins += 1
            # Never the password; the username only when it could be one (not a password typed in the wrong box).
            shown = repr(username) if USERNAME.fullmatch(username) else "(not a username)"
            log.info("failed login for %s from %s", shown, call.request.client)
            raise ApiError("AUTH_INVALID", "wrong username or password")
        log.info("%s logged in from %s", user.username, call.request.client)
        return self._token(user)

    async def refresh(self, call: Call) -> Response:
        # The stored user, not the old claims: a changed role or scope applies, a deleted user is refused.
        user = await self.services.store.user_by_id(call.claims.user_id)
        if user is None:
            raise ApiError("AUTH_INVALID", "the token's user no longer exists")
        return self._token(user)

    def _token(self, user) -> Response:
        authority = self.services.authority
        issued = authority.issue(user)
        return answer(Token(
            issued.token, rfc3339(issued.expires_at, self.services.tz), user.role, authority.event_key_b64(issued.claims),
        ))
