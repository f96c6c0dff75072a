"""HTTP as the app sees it: a Request and the Response it gives back (shared by the front,
the WebSocket layer, REST and push)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Mapping

import attrs
import trio


@attrs.frozen
class Request:
    """One request as the app sees it. ``disconnected`` is set when the client
    closes its connection while an HTTP handler runs (a held long-poll watches
    it); for a WebSocket, ``WebSocket.receive`` tells instead."""

    method: str
    target: str
    path: str
    query: Mapping[str, tuple[str, ...]]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client: tuple[str, int] | None
    disconnected: trio.Event = attrs.field(factory=trio.Event, eq=False)

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def arg(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


@attrs.frozen
class Response:
    """A response. The front sets Content-Length, Date and Server; a Content-Length or
    Transfer-Encoding given here is ignored (framing is the front's job) and HEAD
    responses lose their body on the way out. A body too large to hold at once is given
    as ``chunks`` instead, pieces made as they are written (chunked transfer coding; to an
    HTTP/1.0 client, the connection closes after it)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    chunks: Iterable[bytes] | None = attrs.field(default=None, kw_only=True)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, (("content-type", "application/json"), *headers), body)

    @classmethod
    def text(
        cls,
        text: str,
        status: int = 200,
        content_type: str = "text/plain; charset=utf-8",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Response:
        return cls(status, (("content-type", content_type), *headers), text.encode("utf-8"))


def error_response(status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """The JSON error shape of the whole port: ``{"error": {"code", "message"}}``."""
    return Response.json({"error": {"code": code, "message": message}}, status=status, headers=headers)

