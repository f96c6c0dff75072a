"""The one port: routes HTTP requests and WebSocket upgrades to REST, /ws and Socket.IO.

/api/... and /metrics go to the REST API, /socket.io/ to Engine.IO (both its
polling requests and its WebSocket upgrades), /ws to the plain WebSocket, / and
/assets/... to the dashboard. Anything else is a JSON 404 naming the path.
"""

from __future__ import annotations

from eyenet.web.dashboard.serve import Dashboard
from eyenet.web.http import Request, Response

SOCKETIO_PREFIX = "/socket.io/"


def not_found(request: Request) -> Response:
    return Response.json({"error": {"code": "NOT_FOUND", "message": f"nothing is served at {request.path}"}}, status=404)


class WebApp:
    def __init__(self, rest, socketio, plain_ws, dashboard: Dashboard | None = None) -> None:
        self.rest = rest
        self.socketio = socketio
        self.plain_ws = plain_ws
        self.dashboard = dashboard if dashboard is not None else Dashboard()

    async def http(self, request: Request) -> Response:
        path = request.path
        if path.startswith(SOCKETIO_PREFIX) or path == SOCKETIO_PREFIX[:-1]:
            return await self.socketio.http(request)
        if path.startswith("/api/") or path == "/api" or path == "/metrics":
            return await self.rest.http(request)
        if path == "/ws":
            return Response.json(
                {"error": {"code": "INVALID_MESSAGE", "message": "/ws is a WebSocket: send an Upgrade request"}}, status=426,
                headers=(("upgrade", "websocket"),),
            )
        if self.dashboard.serves(path):
            return self.dashboard.http(request)
        return not_found(request)

    def websocket(self, request: Request):
        if request.path == "/ws":
            return self.plain_ws.websocket(request)
        if request.path.startswith(SOCKETIO_PREFIX):
            return self.socketio.websocket(request)
        return not_found(request)
