"""Alert webhooks against real HTTP(S) receivers on 127.0.0.1 (h11 servers in this file).

Tests never time anything: back-off delays are checked through the notifier's `sleep`
(recorded, not slept) and everything else by counts and order. Every wait is bounded
by trio.fail_after (a hang guard, not a measurement)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import socket
import ssl
from email.utils import format_datetime
from functools import partial

import attrs
import h11
import pytest
import trio

import eyenet
from eyenet.alerts.notify import Notifier, backoff_delay, post, retry_after_seconds
from eyenet.config import WebhookSettings
from eyenet.events import to_json

HEADER_SECRET = "Bearer header-value-s3cr3t"
HMAC_SECRET = "hmac-key-s3cr3t"
URL_TOKEN = "url-token-s3cr3t"


@attrs.frozen
class Answer:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"ok"
    chunked: bool = False
    hang: bool = False  # read the request, never answer


HANG = Answer(hang=True)


@attrs.frozen
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class Receiver:
    """An HTTP/1.1 receiver: records each request, answers from `answers` in order (then 200)."""

    def __init__(self, answers=()):
        self.answers = [a if isinstance(a, Answer) else Answer(status=a) for a in answers]
        self.requests: list[Received] = []
        self.port = 0

    def url(self, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.port}/hook/{URL_TOKEN}?key={URL_TOKEN}"

    async def handle(self, stream):
        try:
            async with stream:
                await self._exchange(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
            pass  # a client that hung up, or refused our certificate

    async def _exchange(self, stream):
        conn = h11.Connection(h11.SERVER)
        request, body = None, bytearray()
        with trio.fail_after(10):
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                elif isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    return
        self.requests.append(Received(
            method=request.method.decode(),
            target=request.target.decode(),
            headers={k.decode(): v.decode() for k, v in request.headers},
            body=bytes(body),
        ))
        answer = self.answers.pop(0) if self.answers else Answer()
        if answer.hang:
            await trio.sleep_forever()  # cancelled with the test's nursery
        headers = [*answer.headers, ("Connection", "close")]
        if not answer.chunked:
            headers.append(("Content-Length", str(len(answer.body))))
        await stream.send_all(
            conn.send(h11.Response(status_code=answer.status, headers=headers))
            + conn.send(h11.Data(data=answer.body)) + conn.send(h11.EndOfMessage())
        )


async def start_receiver(nursery, answers=(), ssl_context=None) -> Receiver:
    receiver = Receiver(answers)
    if ssl_context is None:
        [listener] = await nursery.start(partial(trio.serve_tcp, receiver.handle, 0, host="127.0.0.1"))
    else:
        [listener] = await nursery.start(partial(
            trio.serve_ssl_over_tcp, receiver.handle, 0, ssl_context, host="127.0.0.1", https_compatible=True,
        ))
        listener = listener.transport_listener
    receiver.port = listener.socket.getsockname()[1]
    return receiver


def dead_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hook(url, name, **kw) -> WebhookSettings:
    kw = {"backoff": 0.01, "backoff_max": 0.05, **kw}
    return WebhookSettings(url=url, name=name, **kw)


def alert(n, severity="critical", type="alert:new"):
    return {
        "type": type,
        "data": {"alertId": f"a{n}", "severity": severity, "deviceId": "r1", "message": f"alert {n}"},
        "alert": {"alertId": f"a{n}", "severity": severity, "deviceId": "r1", "status": "open"},
    }


def recorder(delays: list):
    async def sleep(seconds):
        delays.append(seconds)
        await trio.sleep(0)
    return sleep


async def wait_until(predicate, what="condition"):
    with trio.fail_after(10):
        while not predicate():
            await trio.sleep(0.005)


def ids(receiver):
    return [r.json["data"]["alertId"] for r in receiver.requests]


# --- back-off maths (pure) ---------------------------------------------------------------


def test_backoff_doubles_up_to_the_maximum():
    assert [backoff_delay(n, 1.0, 300.0) for n in range(1, 12)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert backoff_delay(1, 0.5, 300.0) == 0.5 and backoff_delay(3, 0.5, 300.0) == 2.0
    assert backoff_delay(10_000, 1.0, 300.0) == 300.0  # a long outage: no float overflow
    assert backoff_delay(1, 5.0, 2.0) == 2.0


def test_backoff_takes_retry_after_up_to_the_maximum():
    assert backoff_delay(1, 1.0, 300.0, retry_after=20.0) == 20.0
    assert backoff_delay(5, 1.0, 300.0, retry_after=0.0) == 0.0
    assert backoff_delay(1, 1.0, 300.0, retry_after=86_400.0) == 300.0


def test_retry_after_values():
    now = 1_700_000_000.0
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds(" 7 ", now) == 7.0
    in_30s = format_datetime(datetime.datetime.fromtimestamp(now + 30, datetime.timezone.utc), usegmt=True)
    assert retry_after_seconds(in_30s, now) == 30.0
    assert retry_after_seconds(format_datetime(datetime.datetime.fromtimestamp(now - 30, datetime.timezone.utc)), now) == 0.0
    for bad in ("-3", "1.5", "soon", "", "\u0661\u0662"):  # the last: Arabic-Indic digits
        assert retry_after_seconds(bad, now) is None, bad


# --- delivery ---------------------------------------------------------------------------------


async def test_delivery_is_a_json_post_with_headers_and_a_verifiable_signature(nursery):
    signed = await start_receiver(nursery)
    plain = await start_receiver(nursery)
    notifier = Notifier([
        hook(signed.url(), "signed", headers={"Authorization": HEADER_SECRET, "X-Tenant": "noc"}, secret=HMAC_SECRET),
        hook(plain.url(), "plain"),
    ])
    await nursery.start(notifier.run)
    payload = alert(1)
    assert notifier.notify("alert:new", "critical", payload) is None
    await wait_until(lambda: notifier.stats()["signed"]["delivered"] == notifier.stats()["plain"]["delivered"] == 1)

    [request] = signed.requests
    assert request.method == "POST" and request.target == f"/hook/{URL_TOKEN}?key={URL_TOKEN}"
    assert request.body == to_json(payload) and request.json == payload
    h = request.headers
    assert h["content-type"] == "application/json"
    assert h["user-agent"] == f"EyeNet/{eyenet.__version__}"
    assert h["authorization"] == HEADER_SECRET and h["x-tenant"] == "noc"
    assert h["host"] == f"127.0.0.1:{signed.port}"
    assert h["x-eyenet-event"] == "alert:new"
    assert len(h["x-eyenet-delivery"]) == 32
    expected = hmac.new(HMAC_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(h["x-eyenet-signature"], f"sha256={expected}")

    [unsigned] = plain.requests
    assert "x-eyenet-signature" not in unsigned.headers and "authorization" not in unsigned.headers
    assert unsigned.body == request.body
    assert unsigned.headers["x-eyenet-delivery"] == h["x-eyenet-delivery"]  # one id per alert
    assert notifier.stats()["signed"] == {"delivered": 1, "failed": 0, "dropped": 0, "retries": 0, "queued": 0}


async def test_configured_headers_replace_the_defaults_of_the_same_name(nursery):
    receiver = await start_receiver(nursery)
    notifier = Notifier([hook(receiver.url(), "r", headers={"user-agent": "custom/1", "Content-Type": "application/json; charset=utf-8"})])
    await nursery.start(notifier.run)
    notifier.notify("alert:new", "critical", alert(1))
    await wait_until(lambda: len(receiver.requests) == 1)
    h = receiver.requests[0].headers
    assert h["user-agent"] == "custom/1" and h["content-type"] == "application/json; charset=utf-8"


async def test_5xx_is_retried_with_doubling_backoff_and_order_is_kept(nursery):
    receiver = await start_receiver(nursery, [500, 502, 200])
    delays = []
    notifier = Notifier([hook(receiver.url(), "r", backoff=0.01, backoff_max=1.0)], sleep=recorder(delays))
    await nursery.start(notifier.run)
    notifier.notify("alert:new", "critical", alert(1))
    notifier.notify("alert:update", "critical", alert(2, type="alert:update"))
    await wait_until(lambda: notifier.stats()["r"]["delivered"] == 2)
    assert ids(receiver) == ["a1", "a1", "a1", "a2"]
    assert delays == [0.01, 0.02]
    first = {r.headers["x-eyenet-delivery"] for r in receiver.requests[:3]}
    assert len(first) == 1 and receiver.requests[3].headers["x-eyenet-delivery"] not in first
    assert notifier.stats()["r"] == {"delivered": 2, "failed": 0, "dropped": 0, "retries": 2, "queued": 0}


async def test_retry_after_is_honoured_up_to_backoff_max_and_408_429_are_retried(nursery):
    receiver = await start_receiver(nursery, [
        Answer(503, (("Retry-After", "2"),)),
        Answer(429, (("Retry-After", "3600"),)),
        Answer(408),
        Answer(200),
    ])
    delays = []
    notifier = Notifier([hook(receiver.url(), "r", backoff=0.01, backoff_max=5.0)], sleep=recorder(delays))
    await nursery.start(notifier.run)
    notifier.notify("alert:new", "critical", alert(1))
    await wait_until(lambda: notifier.stats()["r"]["delivered"] == 1)
    assert delays == [2.0, 5.0, 0.04]  # Retry-After, Retry-After capped, then the back-off (3rd failure)
    assert len(receiver.requests) == 4 and notifier.stats()["r"]["retries"] == 3


async def test_4xx_and_redirects_are_not_retried(nursery, caplog):
    receiver = await start_receiver(nursery, [400, Answer(301, (("Location", "http://elsewhere/"),)), 200])
    notifier = Notifier([hook(receiver.url(), "r")])
    await nursery.start(notifier.run)
    for n in (1, 2, 3):
        notifier.notify("alert:new", "critical", alert(n))
    await wait_until(lambda: notifier.stats()["r"]["delivered"] == 1)
    assert ids(receiver) == ["a1", "a2", "a3"]
    assert notifier.stats()["r"] == {"delivered": 1, "failed": 2, "dropped": 0, "retries": 0, "queued": 0}
    messages = [r.getMessage() for r in caplog.records if r.name == "eyenet.notify"]
    assert any("HTTP 400" in m and "not retried" in m for m in messages), messages
    assert any("HTTP 301" in m and "redirects are not followed" in m for m in messages), messages


async def test_dead_and_stuck_receivers_do_not_delay_a_healthy_one(nursery, caplog):
    stuck = await start_receiver(nursery, [HANG])
    healthy = await start_receiver(nursery)
    port = dead_port()
    notifier = Notifier([
        hook(f"http://127.0.0.1:{port}/hook", "dead", max_attempts=3),
        hook(stuck.url(), "stuck", timeout=60.0),
        hook(healthy.url(), "healthy"),
    ])
    await nursery.start(notifier.run)
    for n in (1, 2):
        notifier.notify("alert:new", "critical", alert(n))
    await wait_until(lambda: notifier.stats()["healthy"]["delivered"] == 2 and notifier.stats()["dead"]["failed"] == 2)
    await wait_until(lambda: len(stuck.requests) == 1)
    stats = notifier.stats()
    assert ids(healthy) == ["a1", "a2"]
    assert stats["dead"] == {"delivered": 0, "failed": 2, "dropped": 0, "retries": 4, "queued": 0}
    # The stuck receiver still holds alert 1 (its timeout is far off); alert 2 waits behind it.
    assert stats["stuck"] == {"delivered": 0, "failed": 0, "dropped": 0, "retries": 0, "queued": 1}
    assert any("dead" in r.getMessage() and "dropped after 3 attempts" in r.getMessage() for r in caplog.records)


async def test_a_receiver_that_never_answers_fails_after_max_attempts(nursery, caplog):
    stuck = await start_receiver(nursery, [HANG, HANG, HANG, HANG])
    notifier = Notifier([hook(stuck.url(), "stuck", timeout=0.25, max_attempts=2)])
    await nursery.start(notifier.run)
    notifier.notify("alert:new", "critical", alert(1))
    notifier.notify("alert:new", "critical", alert(2))
    await wait_until(lambda: notifier.stats()["stuck"]["failed"] == 2)
    assert ids(stuck) == ["a1", "a1", "a2", "a2"]
    assert notifier.stats()["stuck"] == {"delivered": 0, "failed": 2, "dropped": 0, "retries": 2, "queued": 0}
    assert any("no answer within 0.25 s" in r.getMessage() for r in caplog.records)


async def test_a_big_chunked_answer_is_read_only_up_to_the_bound(nursery):
    receiver = await start_receiver(nursery, [Answer(200, body=b"x" * 300_000, chunked=True)])
    answer = await post(receiver.url(), b"{}", [("Content-Type", "application/json")], max_body=65536)
    assert answer.status == 200 and len(answer.body) == 65536
    assert answer.header("Transfer-Encoding") == "chunked"


# --- queue and filters --------------------------------------------------------------------


async def test_notify_returns_at_once_when_the_queue_is_full_and_drops_the_oldest(nursery, caplog):
    stuck = await start_receiver(nursery, [HANG])
    notifier = Notifier([hook(stuck.url(), "stuck", timeout=60.0, queue=3)])
    await nursery.start(notifier.run)
    notifier.notify("alert:new", "critical", alert(0))
    await wait_until(lambda: len(stuck.requests) == 1)  # alert 0 in flight, held by the receiver
    for n in range(1, 101):  # synchronous: no checkpoint between these calls
        notifier.notify("alert:new", "critical", alert(n))
    assert notifier.stats()["stuck"] == {"delivered": 0, "failed": 0, "dropped": 97, "retries": 0, "queued": 3}
    warnings = [r for r in caplog.records if r.name == "eyenet.notify" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "webhook stuck: queue full" in warnings[0].getMessage()  # not one per drop


async def test_the_newest_alerts_survive_a_full_queue_in_order(nursery):
    receiver = await start_receiver(nursery)
    notifier = Notifier([hook(receiver.url(), "r", queue=3)])
    for n in range(1, 6):  # before run(): all of them queue up
        notifier.notify("alert:new", "critical", alert(n))
    assert notifier.stats()["r"]["dropped"] == 2
    await nursery.start(notifier.run)
    await wait_until(lambda: notifier.stats()["r"]["delivered"] == 3)
    assert ids(receiver) == ["a3", "a4", "a5"]


def test_severity_and_event_filters():
    notifier = Notifier([
        WebhookSettings(url="http://127.0.0.1:1/", name="critical-only", severities=("critical",)),
        WebhookSettings(url="http://127.0.0.1:1/", name="updates-only", events=("alert:update",)),
        WebhookSettings(url="http://127.0.0.1:1/", name="all"),
    ])
    for event_type, severity in [
        ("alert:new", "critical"), ("alert:new", "warning"), ("alert:update", "info"),
        ("alert:update", "critical"), ("device:status", "critical"), ("alert:new", "bogus"),
    ]:
        notifier.notify(event_type, severity, alert(1, severity, event_type))
    queued = {name: s["queued"] for name, s in notifier.stats().items()}
    assert queued == {"critical-only": 2, "updates-only": 2, "all": 4}


def test_notify_never_raises(caplog):
    notifier = Notifier([WebhookSettings(url="http://127.0.0.1:1/", name="h")])
    notifier.notify("alert:new", "critical", {"type": "alert:new", "data": {"bad": {1, 2}}})
    notifier.notify("alert:new", "critical", {"type": "alert:new", "data": {"value": float("nan")}})
    assert notifier.stats()["h"]["queued"] == 0
    assert sum(r.levelno == logging.ERROR for r in caplog.records) == 2


async def test_no_webhooks_and_duplicate_names():
    notifier = Notifier([])
    notifier.notify("alert:new", "critical", alert(1))
    with trio.fail_after(5):
        await notifier.run()  # nothing to do: returns
    assert notifier.stats() == {}
    with pytest.raises(ValueError, match="names must differ"):
        Notifier([WebhookSettings(url="http://a/"), WebhookSettings(url="http://a/b")])


# --- TLS ----------------------------------------------------------------------------------


def self_signed(tmp_path) -> ssl.SSLContext:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eyenet-test-receiver")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
    ))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def test_https_verifies_the_certificate_unless_told_not_to(nursery, tmp_path, caplog):
    receiver = await start_receiver(nursery, ssl_context=self_signed(tmp_path))
    notifier = Notifier([
        hook(receiver.url("https"), "verified", max_attempts=1),
        hook(receiver.url("HTTPS"), "lab", verify_tls=False),
    ])
    await nursery.start(notifier.run)
    notifier.notify("alert:new", "critical", alert(1))
    await wait_until(lambda: notifier.stats()["verified"]["failed"] == 1 and notifier.stats()["lab"]["delivered"] == 1)
    assert ids(receiver) == ["a1"]
    assert any("verified" in r.getMessage() and "TLS certificate not accepted" in r.getMessage() for r in caplog.records)


# --- secrets ----------------------------------------------------------------------------------


async def test_header_values_secret_and_url_path_never_reach_logs_or_repr(nursery, caplog):
    caplog.set_level(logging.DEBUG)
    receiver = await start_receiver(nursery, [500, 400, Answer(429, (("Retry-After", "0"),)), 200])
    secrets = {"headers": {"Authorization": HEADER_SECRET}, "secret": HMAC_SECRET}
    notifier = Notifier([
        hook(receiver.url(), "flaky", queue=2, **secrets),
        hook(f"http://127.0.0.1:{dead_port()}/{URL_TOKEN}", "dead", queue=2, max_attempts=2, **secrets),
        hook(receiver.url("https"), "tls", queue=2, max_attempts=1, **secrets),  # an HTTP receiver: TLS fails
    ])
    for n in range(1, 5):
        notifier.notify("alert:new", "critical", alert(n))  # 2 dropped per webhook: logged
    await nursery.start(notifier.run)
    await wait_until(lambda: all(s["queued"] == 0 and s["delivered"] + s["failed"] == 2 for s in notifier.stats().values()))
    assert notifier.stats()["flaky"] == {"delivered": 1, "failed": 1, "dropped": 2, "retries": 2, "queued": 0}
    records = [r for r in caplog.records if r.name.startswith("eyenet")]
    for name in ("flaky", "dead", "tls"):  # each named in its drop and failure warnings
        assert sum(f"webhook {name}:" in r.getMessage() for r in records if r.levelno == logging.WARNING) >= 2, name
    for record in records:
        text = f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for secret in (HEADER_SECRET, "header-value", HMAC_SECRET, URL_TOKEN):
            assert secret not in text, (secret, text)
    for settings in (notifier._webhooks[0].settings, notifier._webhooks[1].settings):
        for secret in (HEADER_SECRET, HMAC_SECRET, URL_TOKEN):
            assert secret not in repr(settings)
