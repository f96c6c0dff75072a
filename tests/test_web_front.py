"""The HTTP/1.1 front (eyenet/web/front.py) against real HTTP clients on loopback.

Clients are http.client (in a thread) and raw TCP/TLS streams that write
bytes by hand where a library would refuse to misbehave. Each wait is bounded;
no assertion is about time.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import logging
import ssl

import agents
import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from eyenet.config import WebSettings
from eyenet.web.front import serve
from eyenet.web.http import Request, Response, error_response

LIMIT = 10.0  # seconds: a bound on every wait, never an expectation


class TinyApp:
    """Routes enough to exercise the front: echo, 404, a held request, a failing handler."""

    def __init__(self) -> None:
        self.saw_disconnect = trio.Event()
        self.held = trio.Event()

    async def http(self, request: Request) -> Response:
        if request.path.startswith("/echo"):
            return Response.json(
                {
                    "method": request.method,
                    "target": request.target,
                    "path": request.path,
                    "query": {k: list(v) for k, v in request.query.items()},
                    "body": request.body.decode("utf-8", "replace"),
                    "client": list(request.client) if request.client else None,
                    "header": request.header("X-Test"),
                    "arg": request.arg("x"),
                }
            )
        if request.path == "/hold":
            self.held.set()
            with trio.move_on_after(LIMIT):
                await request.disconnected.wait()
            if request.disconnected.is_set():
                self.saw_disconnect.set()
            return Response.text("held")
        if request.path == "/yield":
            for _ in range(10):  # lets the front read ahead while this handler runs
                await trio.sleep(0)
            return Response.text("yielded")
        if request.path == "/chunks":  # a body made while it is written: 3 pieces, one of them empty
            self.made = 0

            def pieces():
                for n in range(3):
                    self.made += 1
                    yield b"" if n == 1 else b"piece %d;" % n
            return Response(200, (("content-type", "text/plain"),), chunks=pieces())
        if request.path == "/boom":
            raise RuntimeError("boom in handler")
        return error_response(404, "NOT_FOUND", f"no route for {request.path}")

    def websocket(self, request: Request):
        return error_response(404, "NOT_FOUND", "no WebSocket here")


async def start(nursery: trio.Nursery, app=None, **settings) -> int:
    settings.setdefault("host", "127.0.0.1")
    settings.setdefault("port", 0)
    bound = await nursery.start(serve, app or TinyApp(), WebSettings(**settings))
    assert bound[0][0] == "127.0.0.1"
    return bound[0][1]


def self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for localhost/127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = tmp_path / "cert.pem"
    key_path = tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def client_tls_context(cert_path: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cert_path)


async def exchange(port: int, data: bytes, *, then_close_write: bool = False) -> bytes:
    """Send raw bytes, read until the server closes."""
    with trio.fail_after(LIMIT):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(data)
            if then_close_write:
                await stream.send_eof()
            return await read_to_eof(stream)


async def read_to_eof(stream) -> bytes:
    received = bytearray()
    while chunk := await stream.receive_some(65536):
        received += chunk
    return bytes(received)


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """One response from raw bytes: status, headers (lower-cased), body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def error_code(body: bytes) -> str:
    return json.loads(body)["error"]["code"]


def http_session(port: int, requests: list[tuple], *, tls: ssl.SSLContext | None = None) -> list:
    """Run requests one after another on ONE http.client connection (in a thread)."""
    if tls is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=LIMIT)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=LIMIT, context=tls)
    results = []
    try:
        for method, url, body, headers in requests:
            conn.request(method, url, body=body, headers=headers, encode_chunked=headers.get("Transfer-Encoding") == "chunked")
            response = conn.getresponse()
            results.append((response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()))
    finally:
        conn.close()
    return results


async def test_keep_alive_serves_two_requests_on_one_connection(nursery):
    port = await start(nursery)
    results = await trio.to_thread.run_sync(
        http_session, port, [("GET", "/echo?x=1&x=2&empty=", None, {"X-Test": "a"}), ("POST", "/echo/%C3%A9t%C3%A9", b"hello", {})]
    )
    (s1, h1, b1), (s2, _, b2) = results
    assert s1 == s2 == 200
    assert h1["content-type"] == "application/json"
    assert h1["server"] == "EyeNet" and h1["date"].endswith("GMT")
    first, second = json.loads(b1), json.loads(b2)
    assert first["query"] == {"x": ["1", "2"], "empty": [""]} and first["arg"] == "1" and first["header"] == "a"
    assert first["target"] == "/echo?x=1&x=2&empty="
    assert second["path"] == "/echo/été" and second["body"] == "hello" and second["method"] == "POST"
    assert first["client"] == second["client"]  # the same TCP connection


async def test_unknown_route_is_the_apps_404(nursery):
    port = await start(nursery)
    [(status, _, body)] = await trio.to_thread.run_sync(http_session, port, [("GET", "/nope", None, {})])
    assert status == 404
    assert json.loads(body) == {"error": {"code": "NOT_FOUND", "message": "no route for /nope"}}


async def test_declared_body_over_the_limit_is_413_and_close(nursery):
    port = await start(nursery, max_body_bytes=1000)
    raw = await exchange(port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + b"a" * 5000)
    status, headers, body = parse(raw)
    assert status == 413 and headers["connection"] == "close"
    assert error_code(body) == "BODY_TOO_LARGE" and "5000" in json.loads(body)["error"]["message"]


async def test_http_client_uploading_too_much_reads_the_413(nursery):
    """The client is still sending when we answer: lingering close keeps the answer from being reset."""
    port = await start(nursery, max_body_bytes=1000)
    [(status, _, body)] = await trio.to_thread.run_sync(http_session, port, [("POST", "/echo", b"z" * 300_000, {})])
    assert status == 413 and error_code(body) == "BODY_TOO_LARGE"


async def test_chunked_body_is_joined_and_bounded(nursery):
    port = await start(nursery, max_body_bytes=1000)
    chunks = [b"abc", b"defg", b"h" * 100]
    [(status, _, body)] = await trio.to_thread.run_sync(
        http_session, port, [("POST", "/echo", iter(chunks), {"Transfer-Encoding": "chunked"})]
    )
    assert status == 200 and json.loads(body)["body"] == b"".join(chunks).decode()
    too_much = b"".join(b"%x\r\n%s\r\n" % (400, b"q" * 400) for _ in range(3)) + b"0\r\n\r\n"
    raw = await exchange(port, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + too_much)
    status, _, body = parse(raw)
    assert status == 413 and error_code(body) == "BODY_TOO_LARGE" and "chunked" in json.loads(body)["error"]["message"]


async def test_expect_100_continue_gets_the_interim_response(nursery):
    port = await start(nursery)
    with trio.fail_after(LIMIT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
            )
            interim = b""
            while b"\r\n\r\n" not in interim:
                interim += await stream.receive_some(1)
            assert interim.startswith(b"HTTP/1.1 100 ")
            await stream.send_all(b"12345")
            status, _, body = parse(await read_to_eof(stream))
    assert status == 200 and json.loads(body)["body"] == "12345"


async def test_header_too_big_is_431(nursery):
    port = await start(nursery, max_header_bytes=2048)
    # complete in one write (h11 alone would parse it) ...
    raw = await exchange(port, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 4000 + b"\r\n\r\n")
    status, _, body = parse(raw)
    assert status == 431 and error_code(body) == "HEADERS_TOO_LARGE"
    # ... and a head that never ends
    raw = await exchange(port, b"GET /echo HTTP/1.1\r\nHost: x\r\n" + b"X-More: yes\r\n" * 1000)
    status, _, body = parse(raw)
    assert status == 431 and error_code(body) == "HEADERS_TOO_LARGE"


async def test_malformed_request_is_400(nursery):
    port = await start(nursery)
    for garbage in (b"NOT HTTP AT ALL\r\n\r\n", b"GET /echo HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
                    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: twelve\r\n\r\n"):
        status, headers, body = parse(await exchange(port, garbage))
        assert status == 400 and headers["connection"] == "close"
        assert error_code(body) == "BAD_REQUEST" and json.loads(body)["error"]["message"].startswith("malformed HTTP request")


async def test_slow_request_is_408_then_closed(nursery):
    port = await start(nursery, header_timeout=1.0)  # also bounds the wait for the first byte: room for a loaded machine
    with trio.fail_after(LIMIT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n")  # ... and the rest never comes
            status, _, body = parse(await read_to_eof(stream))
    assert status == 408 and error_code(body) == "REQUEST_TIMEOUT"
    # a slow body is as bad as a slow head
    with trio.fail_after(LIMIT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12")
            status, _, body = parse(await read_to_eof(stream))
    assert status == 408


async def test_idle_keep_alive_connection_is_closed_quietly(nursery):
    port = await start(nursery, idle_timeout=0.2)
    with trio.fail_after(LIMIT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            raw = await read_to_eof(stream)
    assert raw.count(b"HTTP/1.1 ") == 1 and parse(raw)[0] == 200  # the answer, then EOF without a 408


async def test_head_has_headers_but_no_body(nursery):
    port = await start(nursery)
    results = await trio.to_thread.run_sync(
        http_session, port, [("HEAD", "/echo", None, {}), ("GET", "/echo", None, {})]
    )
    (s1, h1, b1), (s2, h2, b2) = results
    assert s1 == s2 == 200 and b1 == b"" and int(h1["content-length"]) > 0 and len(b2) == int(h2["content-length"])


async def test_pipelined_requests_are_answered_in_order(nursery):
    port = await start(nursery)
    raw = await exchange(
        port,
        b"GET /yield HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /echo?n=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /echo?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert raw.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert raw.index(b"yielded") < raw.index(b'"n":["2"]') < raw.index(b'"n":["3"]')
    assert b'"body":"abc"' in raw


async def test_http_1_0_and_connection_close_end_the_connection(nursery):
    port = await start(nursery)
    status, _, body = parse(await exchange(port, b"GET /echo?x=10 HTTP/1.0\r\n\r\n"))
    assert status == 200 and json.loads(body)["arg"] == "10"
    status, headers, body = parse(await exchange(port, b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert status == 200 and headers["connection"] == "close" and json.loads(body)["path"] == "/echo"


async def test_a_body_in_chunks_is_framed_for_each_client(nursery):
    app = TinyApp()
    port = await start(nursery, app)
    # HTTP/1.1: chunked transfer coding, and the connection serves the next request.
    (s1, h1, b1), (s2, h2, b2), (s3, _, b3) = await trio.to_thread.run_sync(
        http_session, port, [("GET", "/chunks", None, {}), ("HEAD", "/chunks", None, {}), ("GET", "/echo", None, {})]
    )
    assert (s1, h1["transfer-encoding"], b1) == (200, "chunked", b"piece 0;piece 2;") and "content-length" not in h1
    assert (s2, b2) == (200, b"") and app.made == 0  # HEAD: nothing made
    assert s3 == 200 and json.loads(b3)["path"] == "/echo"
    # HTTP/1.0 knows no chunks: the body runs to the connection's close.
    status, headers, body = parse(await exchange(port, b"GET /chunks HTTP/1.0\r\n\r\n"))
    assert (status, body) == (200, b"piece 0;piece 2;") and "transfer-encoding" not in headers


async def test_client_gone_during_a_held_request_sets_disconnected(nursery):
    app = TinyApp()
    port = await start(nursery, app)
    with trio.fail_after(LIMIT):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        await app.held.wait()
        await stream.aclose()
        await app.saw_disconnect.wait()
    # the server is fine afterwards
    [(status, _, _)] = await trio.to_thread.run_sync(http_session, port, [("GET", "/echo", None, {})])
    assert status == 200


async def test_handler_exception_is_500_logged_once_and_serving_goes_on(nursery, caplog):
    port = await start(nursery)
    with caplog.at_level(logging.ERROR, logger="eyenet.web.front"):
        results = await trio.to_thread.run_sync(
            http_session, port, [("GET", "/boom", None, {}), ("GET", "/echo", None, {})]
        )
    (s1, _, b1), (s2, _, _) = results
    assert s1 == 500 and error_code(b1) == "INTERNAL" and "boom" not in b1.decode()
    assert s2 == 200  # same connection
    records = [r for r in caplog.records if r.name == "eyenet.web.front"]
    assert len(records) == 1 and "boom in handler" in str(records[0].exc_info[1])
    [(status, _, _)] = await trio.to_thread.run_sync(http_session, port, [("GET", "/echo", None, {})])
    assert status == 200


async def test_invalid_response_from_app_is_500(nursery):
    class BadApp(TinyApp):
        async def http(self, request):
            if request.path == "/bad-header":
                return Response(200, (("x-bad", "line\r\nbreak"),))
            return "not a response"

    port = await start(nursery, BadApp())
    results = await trio.to_thread.run_sync(
        http_session, port, [("GET", "/bad-header", None, {}), ("GET", "/other", None, {})]
    )
    assert [status for status, _, _ in results] == [500, 500]


async def test_tls_request(nursery, tmp_path):
    cert, key = self_signed(tmp_path)
    port = await start(nursery, tls_cert=cert, tls_key=key)
    results = await trio.to_thread.run_sync(
        lambda: http_session(
            port, [("GET", "/echo?x=tls", None, {}), ("POST", "/echo", b"x" * 200_000, {})], tls=client_tls_context(cert)
        )
    )
    (s1, _, b1), (s2, _, b2) = results
    assert s1 == s2 == 200 and json.loads(b1)["arg"] == "tls" and len(json.loads(b2)["body"]) == 200_000
    # plain HTTP to the TLS port gets no answer, and does not hurt the server
    with trio.fail_after(LIMIT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"HTTP/1.1" not in await read_to_eof(stream)  # a TLS alert, then EOF
    [(status, _, _)] = await trio.to_thread.run_sync(
        lambda: http_session(port, [("GET", "/echo", None, {})], tls=client_tls_context(cert))
    )
    assert status == 200


async def test_bad_tls_files_are_named(tmp_path):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(ValueError, match="missing.pem"):
        await serve(TinyApp(), WebSettings(host="127.0.0.1", port=0, tls_cert=missing))


async def test_the_default_host_listens_on_ipv4_and_ipv6_alike(nursery):
    """A client that resolves localhost to ::1 first (Node 18 on Debian 12 does) must get in."""
    bound = await nursery.start(serve, TinyApp(), WebSettings(port=0))
    hosts = {host for host, _ in bound}
    assert "0.0.0.0" in hosts and len({port for _, port in bound}) == 1
    port = bound[0][1]
    for address in ("127.0.0.1", "::1") if agents.ipv6_available() else ("127.0.0.1",):
        def get(address=address) -> int:
            conn = http.client.HTTPConnection(address, port, timeout=LIMIT)
            try:
                conn.request("GET", "/echo")
                return conn.getresponse().status
            finally:
                conn.close()

        assert await trio.to_thread.run_sync(get) == 200, address
