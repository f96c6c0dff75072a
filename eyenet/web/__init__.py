"""HTTP, WebSocket and Socket.IO on one port: the push server and the REST API."""
