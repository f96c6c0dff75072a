"""HTTP on the real server's port: no smuggling, no other HTTP versions, the security headers on
every answer, and a demo that listens on loopback only.

EyeNet runs as `eyenet run` does (tests/abuse.py); raw requests are written by hand where a
client library would refuse to misbehave. Each wait is bounded.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
from pathlib import Path

import agents
import pytest
import trio
from abuse import LIMIT, error_code, exchange, login, responses, running_eyenet
from test_web_front import self_signed

from eyenet import app
from eyenet.cli import build_parser
from eyenet.demo.run import demo_config

SECURITY = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}
HEALTH = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("head", [
    b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\ncontent-length: 0\r\n\r\n0\r\n\r\n",
    b"GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
])
async def test_content_length_with_transfer_encoding_is_400_and_the_connection_closes(tmp_path, monkeypatch, head):
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        with trio.fail_after(LIMIT):
            raw, closed = await exchange(port, head + HEALTH)  # the request a proxy in front may see next
        [(status, headers, body)] = responses(raw)  # the appended request is never answered
        assert closed and status == 400 and error_code(body) == "BAD_REQUEST"
        assert headers["connection"] == "close" and "Transfer-Encoding" in json.loads(body)["error"]["message"]


@pytest.mark.parametrize("version", [b"HTTP/9.9", b"HTTP/2.0", b"HTTP/1.2", b"HTTP/0.9", b"HTTP/3.0"])
async def test_only_http_1_0_and_1_1_are_served(tmp_path, monkeypatch, version):
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        with trio.fail_after(LIMIT):
            raw, closed = await exchange(port, b"GET /api/health " + version + b"\r\nHost: x\r\n\r\n" + HEALTH)
        [(status, headers, body)] = responses(raw)
        assert closed and status == 505 and error_code(body) == "HTTP_VERSION_NOT_SUPPORTED"
        assert version.decode() in json.loads(body)["error"]["message"]
        with trio.fail_after(LIMIT):  # HTTP/2 with prior knowledge: its preface is refused the same way
            raw, closed = await exchange(port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        assert closed and responses(raw)[0][0] == 505
        for served in (b"GET /api/health HTTP/1.0\r\n\r\n", HEALTH):
            with trio.fail_after(LIMIT):
                raw, _ = await exchange(port, served + b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert responses(raw)[0][0] == 200


async def test_every_answer_carries_the_security_headers(tmp_path, monkeypatch):
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        token = await login(port)
        asked = [
            HEALTH,  # REST, 200
            b"GET /api/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n",
            b"GET /api/devices HTTP/1.1\r\nHost: x\r\n\r\n",  # 401
            b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n",  # 404 of the app
            b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n",  # 426
            b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",  # Engine.IO handshake
            b"OPTIONS /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
            b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",  # 431 of the front
            b"GET /api/health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",  # 400 of h11
            b"GET /ws?token=" + token.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",  # 101
        ]
        statuses = []
        for request in asked:
            with trio.fail_after(LIMIT):
                raw, _ = await exchange(port, request, wait=1.0)
            status, headers, _ = responses(raw.partition(b"\r\n\r\n")[0] + b"\r\n\r\n")[0]
            statuses.append(status)
            assert {name: headers.get(name) for name in SECURITY} == SECURITY, (request[:40], headers)
            assert "strict-transport-security" not in headers  # plain HTTP: HSTS would mean nothing
        assert statuses == [200, 200, 401, 404, 426, 200, 400, 401, 431, 400, 101]


async def test_under_tls_every_answer_also_carries_hsts(tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(cafile=cert)
    async with running_eyenet(tmp_path, monkeypatch, tls_cert=cert, tls_key=key) as (port, _):
        for request in (HEALTH, b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/7.0\r\nHost: x\r\n\r\n"):
            with trio.fail_after(LIMIT):
                stream = trio.SSLStream(await trio.open_tcp_stream("127.0.0.1", port), context, server_hostname="localhost")
                async with stream:
                    await stream.send_all(request)
                    raw = b""
                    while b"\r\n\r\n" not in raw:
                        raw += await stream.receive_some()
            _, headers, _ = responses(raw.partition(b"\r\n\r\n")[0] + b"\r\n\r\n")[0]
            assert headers["strict-transport-security"] == "max-age=31536000"
            assert {name: headers.get(name) for name in SECURITY} == SECURITY


class NoLab:
    devices = ()


async def test_the_demo_listens_on_loopback_unless_told_otherwise(tmp_path, monkeypatch):
    assert build_parser().parse_args(["demo"]).host == "localhost"
    assert build_parser().parse_args(["demo", "--host", ""]).host == ""
    config = demo_config(NoLab(), Path(tmp_path), port=0)
    assert config.web.host == "localhost" and "*" not in config.web.cors_origins
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", "demo-admin-password")
    async with trio.open_nursery() as nursery:
        services = await nursery.start(app.run, config)  # the demo's settings, served for real
        addresses = [ipaddress.ip_address(host) for host, _ in services.addresses]
        assert addresses and all(address.is_loopback for address in addresses), addresses
        assert ipaddress.ip_address("127.0.0.1") in addresses
        nursery.cancel_scope.cancel()


@pytest.mark.skipif(not agents.ipv6_available(), reason="no IPv6 loopback here")
async def test_where_localhost_names_both_loopbacks_the_demo_listens_on_both(tmp_path, monkeypatch):
    """As Debian 12's /etc/hosts has it: a client of ws://localhost that tries ::1 first finds the demo."""
    resolve = socket.getaddrinfo

    def both(host, *args, **kwargs):
        if host == "localhost":
            return resolve("::1", *args, **kwargs) + resolve("127.0.0.1", *args, **kwargs)
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", both)
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", "demo-admin-password")
    async with trio.open_nursery() as nursery:
        services = await nursery.start(app.run, demo_config(NoLab(), Path(tmp_path), port=0))
        assert sorted(host for host, _ in services.addresses) == ["127.0.0.1", "::1"]
        assert len({port for _, port in services.addresses}) == 1
        nursery.cancel_scope.cancel()
