"""Login, token refresh and logout: POST /api/auth/login, /api/auth/refresh, /api/auth/logout.

Failed logins back off per user name and per address (auth.backoff): 429 with Retry-After,
before any password is hashed. Every login, failure and logout goes to the audit trail.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

import attrs
import msgspec
from msgspec import Meta

from eyenet.auth import audit
from eyenet.auth.model import MAX_PASSWORD, ROLES, USERNAME
from eyenet.auth.tokens import TokenError
from eyenet.auth.users import authenticate
from eyenet.events import rfc3339
from eyenet.lograte import LogThrottle
from eyenet.web.http import Response
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Timestamp


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
    _throttled: LogThrottle = attrs.Factory(LogThrottle)  # a 429 costs nothing: its line, one a minute

    def register(self, router: Router) -> None:
        router.add("POST", "/api/auth/login", self.login, Operation(
            "A token for a username and password", "auth", None, Token, request=Login, errors=(401, 429),
            description="Wrong credentials answer 401 AUTH_INVALID without saying which part was wrong. After "
            "repeated failures for a user name or from an address, 429 RATE_LIMITED with Retry-After (seconds), "
            "whatever the password.",
        ))
        router.add("POST", "/api/auth/refresh", self.refresh, Operation(
            "A fresh token for the bearer's user, with its current role and scope", "auth", "viewer", Token,
        ))
        router.add("POST", "/api/auth/logout", self.logout, Operation(
            "Revoke every token of the bearer's user", "auth", "viewer", status=204,
            description="Its push connections (/ws and Socket.IO) are closed within a second.",
        ))

    async def login(self, call: Call) -> Response:
        username, password = call.body.username, call.body.password
        address = call.request.client[0] if call.request.client else ""
        # A key for every name the store could hold (usernames match regardless of case); other
        # strings share one, so a password typed in the name box is not kept.
        name = username.lower() if USERNAME.fullmatch(username) else ""
        logins, now = self.services.logins, time.monotonic()
        wait = logins.retry_after(name, address, now)
        if wait:
            self._throttled.log(audit.log, now, "throttled", "login refused for %s from %s: back-off, %d s left",
                                audit.shown(username), address, wait)
            raise ApiError("RATE_LIMITED", f"too many failed logins: try again in {wait} s", headers=(("retry-after", str(wait)),))
        logins.attempt(name, address, now)  # counted before the hash: parallel guesses count too
        user = await authenticate(self.services.store, username, password)  # hashes in a worker thread
        store = self.services.store
        if user is None:
            self.services.counters.failed_logins += 1
            await audit.record(store, "login-failed", username=username, address=address)
            raise ApiError("AUTH_INVALID", "wrong username or password")
        logins.succeeded(name, address)
        await audit.record(store, "login", username=user.username, user_id=user.id, address=address)
        return await self._token(user)

    async def refresh(self, call: Call) -> Response:
        # The stored user, not the old claims: a changed role or scope applies, a deleted user is refused.
        user = await self.services.store.user_by_id(call.claims.user_id)
        if user is None:
            raise ApiError("AUTH_INVALID", "the token's user no longer exists")
        return await self._token(user)

    async def logout(self, call: Call) -> Response:
        user = await self.services.store.change_user(call.claims.user_id)
        await self.services.users.reload()  # refused from the next call on, sockets closed
        if user is not None:
            await audit.record(self.services.store, "logout", username=user.username, user_id=user.id,
                               address=call.request.client[0] if call.request.client else None)
        return Response(204)

    async def _token(self, user) -> Response:
        authority = self.services.authority
        issued = authority.issue(user)
        try:  # the user as just read: a user another process made a moment ago is learnt here
            await self.services.users.admit(issued.claims)
        except TokenError as exc:  # changed again meanwhile
            raise ApiError(exc.code, exc.message) from None
        return answer(Token(
            issued.token, rfc3339(issued.expires_at, self.services.tz), user.role, authority.event_key_b64(issued.claims),
        ))
