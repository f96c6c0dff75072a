"""The error every REST answer that is not a success carries: ``{"error": {"code", "message"}}``,
with the HTTP status of its code (openapi.ERRORS)."""

from __future__ import annotations

import msgspec

from eyenet.web.http import Response
from eyenet.web.rest.openapi import ERRORS, Error, ErrorDetail


class ApiError(Exception):
    def __init__(self, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = ERRORS[code][0]
        self.headers = headers

    def response(self) -> Response:
        body = msgspec.json.encode(Error(ErrorDetail(self.code, self.message)))
        return Response(self.status, (("content-type", "application/json"), *self.headers), body)
