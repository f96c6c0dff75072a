"""A plain HTTP client for REST calls in end-to-end tests (stdlib http.client, run in a thread from Trio)."""

from __future__ import annotations

import http.client
import json
from typing import Any

import trio


def request(port: int, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    """(status, body): the JSON value for a JSON answer, else the raw bytes (None when empty)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, None if body is None else json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
        if not data:
            return response.status, None
        if (response.getheader("content-type") or "").startswith("application/json"):
            return response.status, json.loads(data)
        return response.status, data
    finally:
        conn.close()


async def api(port: int, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    return await trio.to_thread.run_sync(request, port, method, path, token, body)
