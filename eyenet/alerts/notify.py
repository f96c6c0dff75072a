"""Alert webhooks: a JSON POST per alert event, retried with back-off, never blocking anyone.

The alert service calls :meth:`Notifier.notify` (synchronous, returns at once) with the
event type, the severity and the payload ``{"type", "data", "alert"}``. Each webhook whose
filters match gets the compact JSON body in its own bounded queue (full: the oldest is
dropped and counted), and :meth:`Notifier.run` runs one delivery task per webhook that
POSTs its queue in order. So a dead or slow receiver delays only its own later alerts,
never another webhook and never alert evaluation.

A request carries ``Content-Type: application/json``, ``User-Agent: EyeNet/<version>``,
``X-EyeNet-Event`` (the event type), ``X-EyeNet-Delivery`` (one id per notified event,
the same on every retry, so a receiver can drop a duplicate after a lost answer), the
configured headers, and with a secret ``X-EyeNet-Signature: sha256=<hex HMAC-SHA256 of
the body>``. A 2xx answer is delivered; a connection error, a timeout, 5xx, 408 or 429
is tried again after :func:`backoff_delay` (``Retry-After`` honoured up to backoff_max)
until max_attempts; anything else is a failure at once.

HTTP is h11 (sans-io, already the web front's parser) on Trio streams: one connection per
request, ``Connection: close``, at most 64 KiB of the answer read. Logs name a webhook by
its name only: the URL's path and query, header values and the secret may be credentials.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import logging
import math
import os
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import attrs
import h11
import trio

from eyenet import __version__
from eyenet.config import WebhookSettings
from eyenet.events import to_json

log = logging.getLogger("eyenet.notify")

USER_AGENT = f"EyeNet/{__version__}"
MAX_ANSWER_BYTES = 64 * 1024
RETRY_STATUSES = frozenset({408, 429})
DROP_LOG_INTERVAL = 60.0  # seconds between two "queue full" warnings for one webhook


def backoff_delay(failures: int, initial: float, maximum: float, retry_after: float | None = None) -> float:
    """Seconds to wait after `failures` failed attempts (1 or more) before the next one.

    ``initial`` doubled for each failure after the first, at most ``maximum``; a server's
    ``Retry-After`` (seconds) replaces it, also at most ``maximum``."""
    if retry_after is not None:
        return max(0.0, min(retry_after, maximum))
    exponent = max(0, failures - 1)
    if exponent >= 64 or initial * 2.0 ** exponent >= maximum:  # no float overflow on long outages
        return maximum
    return initial * 2.0 ** exponent


def retry_after_seconds(value: str, now: float) -> float | None:
    """A ``Retry-After`` header value as seconds from `now` (POSIX time): delay-seconds or
    an HTTP-date (RFC 9110 10.2.3). None when it is neither."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


@attrs.frozen
class HttpAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes  # at most max_body bytes of it

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)


async def post(
    url: str,
    body: bytes,
    headers: Sequence[tuple[str, str]],
    *,
    ssl_context: ssl.SSLContext | None = None,
    max_body: int = MAX_ANSWER_BYTES,
) -> HttpAnswer:
    """POST `body` to an http(s) URL over a new connection and read the answer: status,
    headers and at most `max_body` bytes of its body. No timeout of its own (the caller
    scopes it); raises OSError, trio.BrokenResourceError or h11.ProtocolError on failure."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname
    if host is None:  # the configuration takes no such URL
        raise ValueError("a webhook URL without a host")
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authority = parts.netloc.rpartition("@")[2]
    if https:
        stream: trio.abc.Stream = await trio.open_ssl_over_tcp_stream(
            host, port, ssl_context=ssl_context or ssl.create_default_context(), https_compatible=True,
        )
    else:
        stream = await trio.open_tcp_stream(host, port)
    async with stream:
        conn = h11.Connection(h11.CLIENT)
        request = h11.Request(
            method="POST",
            target=target,
            headers=[("Host", authority), *headers, ("Content-Length", str(len(body))), ("Connection", "close")],
        )
        await stream.send_all(conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        answer: h11.Response | None = None
        received = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(bytes(await stream.receive_some(65536)))  # h11 takes bytes; a stream may give a bytearray
            elif isinstance(event, h11.Response):
                answer = event
            elif isinstance(event, h11.Data):
                received += event.data[: max_body - len(received)]
                if len(received) >= max_body:
                    break
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
            # InformationalResponse (100 Continue, ...) : wait for the final answer
        if answer is None:  # ConnectionClosed before any answer: h11 raises first, but be sure
            raise h11.RemoteProtocolError("connection closed before an answer")
        return HttpAnswer(
            status=answer.status_code,
            headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers),
            body=bytes(received),
        )


def _describe(exc: BaseException) -> str:
    """An exception as a log can show it: never its arguments, which could echo a header."""
    cause = exc.__cause__
    if isinstance(exc, trio.BrokenResourceError) and isinstance(cause, ssl.SSLError):
        exc = cause  # trio wraps TLS failures
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or type(exc).__name__})"
    if isinstance(exc, OSError):
        if not exc.strerror and isinstance(cause, BaseExceptionGroup):
            # trio's "all attempts to connect to HOST:PORT failed": the errno is in the group.
            reasons = sorted({
                reason
                for e in cause.exceptions if isinstance(e, OSError) and (reason := os.strerror(e.errno) if e.errno else e.strerror)
            })
            if reasons:
                return f"cannot connect ({', '.join(reasons)})"
        return exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, trio.BrokenResourceError):
        return "connection lost"
    if isinstance(exc, h11.RemoteProtocolError):
        return "invalid HTTP answer"
    return type(exc).__name__


def _ssl_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@attrs.define(eq=False)
class _Delivery:
    event_type: str
    body: bytes
    id: str


class _Webhook:
    """One webhook's queue, counters and delivery loop."""

    def __init__(self, settings: WebhookSettings, sleep: Callable[[float], Awaitable[Any]]):
        self.settings = settings
        self.name = settings.name
        self.queue: collections.deque[_Delivery] = collections.deque()
        self.wakeup = trio.Event()
        self.sleep = sleep
        self.delivered = self.failed = self.dropped = self.retries = 0
        self._last_drop_log = -math.inf
        self._https = urlsplit(settings.url).scheme == "https"
        self._ssl_context: ssl.SSLContext | None = None
        # Configured headers replace the defaults of the same name (Content-Type, User-Agent).
        own = {k.lower() for k in settings.headers}
        self.headers = [
            *((k, v) for k, v in (("Content-Type", "application/json"), ("User-Agent", USER_AGENT)) if k.lower() not in own),
            *settings.headers.items(),
        ]

    def matches(self, event_type: str, severity: str) -> bool:
        return event_type in self.settings.events and severity in self.settings.severities

    def put(self, delivery: _Delivery) -> None:
        if len(self.queue) >= self.settings.queue:
            self.queue.popleft()
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log >= DROP_LOG_INTERVAL:
                self._last_drop_log = now
                log.warning(
                    "webhook %s: queue full (%d alerts), dropped the oldest (%d dropped so far)",
                    self.name, self.settings.queue, self.dropped,
                )
        self.queue.append(delivery)
        self.wakeup.set()

    def stats(self) -> dict[str, int]:
        return {
            "delivered": self.delivered, "failed": self.failed, "dropped": self.dropped,
            "retries": self.retries, "queued": len(self.queue),
        }

    async def run(self) -> None:
        while True:
            while not self.queue:
                self.wakeup = trio.Event()
                await self.wakeup.wait()
            delivery = self.queue.popleft()
            try:
                await self.deliver(delivery)
            except Exception:  # a bug here must not end deliveries to this webhook
                self.failed += 1
                log.exception("webhook %s: %s not delivered (internal error)", self.name, delivery.event_type)

    def request_headers(self, delivery: _Delivery) -> list[tuple[str, str]]:
        headers = [*self.headers, ("X-EyeNet-Event", delivery.event_type), ("X-EyeNet-Delivery", delivery.id)]
        if self.settings.secret is not None:
            digest = hmac.new(self.settings.secret.encode(), delivery.body, hashlib.sha256).hexdigest()
            headers.append(("X-EyeNet-Signature", f"sha256={digest}"))
        return headers

    async def attempt(self, delivery: _Delivery, headers: list[tuple[str, str]]) -> tuple[bool, str, float | None]:
        """One POST: (whether to try again, what went wrong or "" when delivered, Retry-After)."""
        s = self.settings
        if self._https and self._ssl_context is None:
            self._ssl_context = _ssl_context(s.verify_tls)
        answer = None
        try:
            with trio.move_on_after(s.timeout):
                answer = await post(s.url, delivery.body, headers, ssl_context=self._ssl_context)
        except h11.LocalProtocolError as exc:  # the request itself cannot be sent: no point retrying
            return False, f"request not sent ({_describe(exc)})", None
        except Exception as exc:  # any network failure is a failed attempt
            return True, _describe(exc), None
        if answer is None:
            return True, f"no answer within {s.timeout:g} s", None
        if 200 <= answer.status < 300:
            return False, "", None
        retry_after = None
        if (value := answer.header("retry-after")) is not None:
            retry_after = retry_after_seconds(value, time.time())
        if answer.status >= 500 or answer.status in RETRY_STATUSES:
            return True, f"HTTP {answer.status}", retry_after
        if 300 <= answer.status < 400:
            return False, f"HTTP {answer.status} (redirects are not followed: set the final URL)", None
        return False, f"HTTP {answer.status}", None

    async def deliver(self, delivery: _Delivery) -> None:
        s = self.settings
        headers = self.request_headers(delivery)
        for attempt in range(1, s.max_attempts + 1):
            retry, problem, retry_after = await self.attempt(delivery, headers)
            if not problem:
                self.delivered += 1
                return
            if not retry:
                self.failed += 1
                log.warning("webhook %s: %s not delivered: %s (not retried)", self.name, delivery.event_type, problem)
                return
            if attempt == s.max_attempts:
                break
            delay = backoff_delay(attempt, s.backoff, s.backoff_max, retry_after)
            log.info(
                "webhook %s: %s attempt %d/%d failed: %s; next in %g s",
                self.name, delivery.event_type, attempt, s.max_attempts, problem, delay,
            )
            self.retries += 1
            await self.sleep(delay)
        self.failed += 1
        log.warning(
            "webhook %s: %s dropped after %d attempt%s: %s",
            self.name, delivery.event_type, s.max_attempts, "s" if s.max_attempts > 1 else "", problem,
        )


class Notifier:
    """Alert webhooks: `notify()` queues, `run()` delivers (one task per webhook).

    `sleep` is what waits between attempts (tests pass one that records the delays)."""

    def __init__(self, webhooks: Sequence[WebhookSettings], *, sleep: Callable[[float], Awaitable[Any]] = trio.sleep):
        names = [w.name for w in webhooks]
        if len(set(names)) != len(names):
            raise ValueError(f"webhook names must differ: {names}")
        self._webhooks = [_Webhook(w, sleep) for w in webhooks]

    def notify(self, event_type: str, severity: str, payload: dict[str, Any]) -> None:
        """Queue `payload` for every webhook that wants this event type and severity.
        Never blocks and never raises: a payload that cannot be sent is logged."""
        try:
            body = None
            delivery_id = uuid.uuid4().hex
            for webhook in self._webhooks:
                if webhook.matches(event_type, severity):
                    if body is None:
                        body = to_json(payload)
                    webhook.put(_Delivery(event_type, body, delivery_id))
        except Exception:  # the alert service must carry on whatever happens here
            log.exception("webhooks: %s (severity %s) not queued", event_type, severity)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver until cancelled; returns at once when there is no webhook."""
        async with trio.open_nursery() as nursery:
            for webhook in self._webhooks:
                nursery.start_soon(webhook.run, name=f"webhook {webhook.name}")
            task_status.started()

    def stats(self) -> dict[str, dict[str, int]]:
        """Per webhook name: delivered, failed, dropped (queue full), retries, queued."""
        return {w.name: w.stats() for w in self._webhooks}
