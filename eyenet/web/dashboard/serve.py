"""Serving the dashboard's built files: ``/`` (index.html), ``/assets/<name>-<hash>.js|css``
and ``/third-party-licenses.txt``.

The files are read once, when EyeNet starts (a few hundred KB), so a request costs no disk
read. Asset names carry a hash of their content, so a browser may keep them for a year
(immutable); index.html, which names them, is revalidated every time (no-cache) so a new
version is picked up on the next load. Each asset has a gzip copy made by the build, sent to
clients that accept gzip.

index.html goes out with a strict Content-Security-Policy: scripts, styles and connections
from this origin only, no inline code, no eval; the page's code is written for it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import PurePosixPath

from eyenet.web.http import Request, Response, error_response

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
ASSETS = "/assets/"
LICENSES = "/third-party-licenses.txt"


class Asset:
    __slots__ = ("body", "gzipped", "content_type")

    def __init__(self, body: bytes, gzipped: bytes | None, content_type: str) -> None:
        self.body, self.gzipped, self.content_type = body, gzipped, content_type


def accepts_gzip(request: Request) -> bool:
    """Whether Accept-Encoding names gzip (or *) with a non-zero quality."""
    header = request.header("accept-encoding") or ""
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower()
            return not (quality.startswith("q=") and _zero(quality[2:]))
    return False


def _zero(quality: str) -> bool:
    try:
        return float(quality) == 0
    except ValueError:
        return False


class Dashboard:
    """The built dashboard, read from ``root`` (the package's static/ by default)."""

    def __init__(self, root=None) -> None:
        root = root if root is not None else files(__package__) / "static"
        self.index = (root / "index.html").read_bytes()
        self.licenses = (root / "THIRD-PARTY-LICENSES.txt").read_bytes()
        self.assets: dict[str, Asset] = {}
        for item in (root / "assets").iterdir():
            suffix = PurePosixPath(item.name).suffix
            if suffix in TYPES:
                gz = root / "assets" / f"{item.name}.gz"
                self.assets[item.name] = Asset(item.read_bytes(), gz.read_bytes() if gz.is_file() else None, TYPES[suffix])

    def serves(self, path: str) -> bool:
        return path in ("/", "/index.html", LICENSES) or path.startswith(ASSETS)

    def http(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return error_response(
                405, "METHOD_NOT_ALLOWED", f"{request.path} takes GET, HEAD, not {request.method}", headers=(("allow", "GET, HEAD"),)
            )
        path = request.path
        if path in ("/", "/index.html"):
            return Response(200, (
                ("content-type", "text/html; charset=utf-8"), ("cache-control", "no-cache"), ("content-security-policy", PAGE_POLICY),
            ), self.index)
        if path == LICENSES:
            return Response(200, (("content-type", "text/plain; charset=utf-8"), ("cache-control", "no-cache")), self.licenses)
        asset = self.assets.get(path[len(ASSETS):])
        if asset is None:
            return error_response(404, "NOT_FOUND", f"nothing is served at {path}")
        headers = [("content-type", asset.content_type), ("cache-control", IMMUTABLE), ("vary", "Accept-Encoding")]
        if asset.gzipped is not None and accepts_gzip(request):
            return Response(200, (*headers, ("content-encoding", "gzip")), asset.gzipped)
        return Response(200, tuple(headers), asset.body)
