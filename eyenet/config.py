"""TOML configuration -> frozen attrs classes; every error names the file, the key and the reason.

Each section is declared once, below: its keys, defaults and checks (eyenet.validate).
The components take their section as it is. What is checked here besides is what spans
keys or sections, and what needs the file's place (relative paths, files that must exist).
"""

import ipaddress
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from eyenet.alerts.rules import Rule, read_rule
from eyenet.auth.model import ROLES
from eyenet.collect.interfaces import DEFAULT_IGNORED_INTERFACES
from eyenet.devices.model import DeviceConfig, device_problems
from eyenet.events import EVENT_TYPES, SEVERITIES, Error
from eyenet.snmp.message import COMMUNITY_VERSIONS
from eyenet.snmp.usm import AUTH_PROTOCOLS, LEVELS, PRIV_PROTOCOLS, UsmUser, implied_level, user_problems
from eyenet.validate import Check, Invalid, Reader, field, not_empty, port

JWT_ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")


class ConfigError(Invalid):
    """One or more problems in a configuration file; str() lists them, one per line."""


@attrs.frozen
class SnmpSettings:
    timeout: float = field(1.0, gt=0, unit=" seconds")
    retries: int = field(2, ge=0)
    max_repetitions: int = field(25, gt=0)
    max_repetitions_cap: int = field(100, gt=0)
    max_in_flight: int = field(1000, gt=0)


@attrs.frozen
class StoreSettings:
    path: str = "eyenet.db"
    raw_days: float = field(2.0, gt=0, unit=" days")
    rollup_5m_days: float = field(30.0, gt=0, unit=" days")
    rollup_1h_days: float = field(400.0, gt=0, unit=" days")
    audit_days: float = field(400.0, gt=0, unit=" days")  # logins, failed logins and user changes
    # Traps kept: for this long, and at most this many (the oldest go first).
    trap_days: float = field(30.0, gt=0, unit=" days")
    max_traps: int = field(1_000_000, gt=0)


def _patterns(patterns: tuple[str, ...]) -> str | None:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            return f"{pattern!r} is not a regular expression: {exc}"
    return None


@attrs.frozen
class PollerSettings:
    # Device polls running at once; each poll walks a handful of columns concurrently.
    max_concurrent_polls: int = field(200, gt=0)
    # A poll slower than this share of the device's interval marks it degraded.
    slow_fraction: float = field(0.5, gt=0, le=1)
    # Seconds after which interface names, descriptions, aliases and types are read again
    # even when nothing says the interface table changed (ifAlias edits say nothing); 0: every poll.
    # A device's first refresh comes after a random half to all of it, spreading a fleet's.
    interface_refresh: float = field(600.0, ge=0, unit=" seconds")
    # Interfaces listed but left out of bandwidth totals and alerts (regular expressions
    # searched in ifName and ifDescr), and whether one whose ifOperStatus is notPresent is.
    ignore_interfaces: tuple[str, ...] = field(DEFAULT_IGNORED_INTERFACES, test=_patterns)
    ignore_not_present: bool = True


SECRET_FILE = "jwt.secret"


@attrs.frozen
class AuthSettings:
    issuer: str = field("eyenet", test=not_empty)
    token_ttl: int = field(3600, gt=0, unit=" seconds")
    algorithm: str = field("HS256", choices=JWT_ALGORITHMS)
    # 32+ random bytes, created at first start with mode 0600: the HS256 signing key and,
    # whatever the algorithm, the root of the per-session event keys. None: jwt.secret
    # beside the database (Config.token_settings resolves it).
    secret_file: str | None = None
    # PEM files for RS256, ES256 and EdDSA; the public key is derived from the private one if not given.
    private_key: str | None = None
    public_key: str | None = None
    clock_skew: int = field(0, ge=0, unit=" seconds")  # leeway on exp/iat/nbf for clocks of other servers
    # A token living longer (exp - iat) is refused, whoever signed it; token_ttl must fit in it.
    max_token_lifetime: int = field(86400, gt=0, unit=" seconds")
    # Password hashes (scrypt, 16 MiB each) computed at once; more logins wait their turn.
    hash_concurrency: int = field(2, gt=0)
    # Failed logins allowed before back-off starts: per user name, and per client address
    # (an IPv6 client's /64); then each further failure doubles the wait, up to login_max_wait.
    login_free_failures: int = field(5, gt=0)
    address_free_failures: int = field(20, gt=0)
    login_max_wait: int = field(900, gt=0, unit=" seconds")


@attrs.frozen
class WebSettings:
    """[web]: the one port. The front serves it, the REST API, /ws and Socket.IO read
    their part of this same section."""

    # "" (the default): every address, IPv4 and IPv6, so "localhost" works whichever it resolves to first.
    host: str = ""
    port: int = field(5000, test=port("TCP", lowest=0))
    # PEM certificate (chain) and key for HTTPS/WSS; no TLS when unset.
    tls_cert: str | None = None
    tls_key: str | None = None  # None: the key is in the tls_cert file
    # /metrics needs a viewer token unless this is false.
    metrics_auth: bool = True
    # What a port open to anyone must bound: a request's head and body, how long its head
    # and body may take to arrive (slowloris) and a keep-alive connection may idle (also the
    # time to write one response), a WebSocket message (larger: close 1009), and the bytes
    # queued for one slow reader.
    max_header_bytes: int = field(16384, gt=0)
    max_body_bytes: int = field(1_048_576, gt=0)
    header_timeout: float = field(10.0, gt=0, unit=" seconds")
    idle_timeout: float = field(75.0, gt=0, unit=" seconds")
    ws_max_message: int = field(65536, gt=0)
    backlog_bytes: int = field(1_048_576, gt=0)
    # Every connection is a file descriptor, as are the store's files, the SNMP sockets and the
    # webhooks' connections. At start the open files limit is raised to its hard limit;
    # connections may take it less fd_reserve, at most max_connections, and one address at
    # most max_connections_per_address (0: a quarter of the total). Beyond, 503 and close.
    fd_reserve: int = field(256, ge=32)
    max_connections: int = field(10_000, gt=0)
    max_connections_per_address: int = field(0, ge=0)
    # WebSocket frames a client sends that carry no whole message (pings, pongs, fragments but
    # the last; before and after login): at most ws_frames_per_second on average, in bursts of
    # ws_frame_burst.
    # Beyond, the connection closes with 1008.
    ws_frames_per_second: float = field(50.0, gt=0)
    ws_frame_burst: int = field(200, gt=0)
    # Socket.IO. Origins allowed to use long-polling from a browser: "*" for any; empty: no CORS headers.
    cors_origins: tuple[str, ...] = ()
    ping_interval: float = field(25.0, gt=0, unit=" seconds")  # between server pings
    ping_timeout: float = field(20.0, gt=0, unit=" seconds")  # for the client's pong
    max_payload: int = field(1_000_000, gt=0)  # bytes of a polling POST or a WebSocket message
    # Seconds from the probe WebSocket to its "5", and to join /ws after the handshake.
    upgrade_timeout: float = field(10.0, gt=0, unit=" seconds")
    connect_timeout: float = field(45.0, gt=0, unit=" seconds")
    # Packets held for a long-polling client between two of its GETs; past that it is too
    # slow and its Engine.IO session closes (its push session stays recoverable).
    polling_queue: int = field(10_000, gt=0)
    # Engine.IO sessions not joined to /ws (not yet, or no longer), all addresses together
    # (one address: a quarter); beyond, a new one is answered 503. Each lives at most
    # connect_timeout unjoined.
    max_unjoined_sessions: int = field(1000, gt=0)


# The event types the hub sends out to subscribers: an error goes to the one client it is about.
BROADCAST_TYPES = tuple(t for t in EVENT_TYPES if t != Error.TYPE)


@attrs.frozen
class PushSettings:
    """[push]: the event contract's limits (these defaults), who receives which events, and
    which payloads are encrypted. The push hub and its sessions read it as it is."""

    max_subscriptions: int = field(100, gt=0)
    client_events_per_minute: int = field(1000, gt=0)
    events_per_minute: int = field(1000, gt=0)
    # /ws: a client without a token must send {"type": "auth"} within this many seconds.
    auth_timeout: float = field(10.0, gt=0, unit=" seconds")
    # Events kept for replay after a reconnect (by event id), at most this many and this
    # much memory (their objects and encodings), and how long a dropped Socket.IO session
    # can be recovered.
    replay_events: int = field(10_000, gt=0)
    replay_bytes: int = field(128 * 1024 * 1024, gt=0)
    recovery_seconds: float = field(120.0, gt=0, unit=" seconds")
    # The least role that receives each event type; a type not listed goes to every role.
    event_roles: dict[str, str] = field(factory=dict, keys=BROADCAST_TYPES, choices=ROLES, hash=False)
    # Payloads sent as JWE (`enc` instead of `data`): by event type, device id or device tag.
    sensitive_events: frozenset[str] = field(frozenset(), choices=tuple(EVENT_TYPES), converter=frozenset)
    sensitive_devices: frozenset[str] = field(frozenset(), converter=frozenset)
    sensitive_tags: frozenset[str] = field(frozenset(), converter=frozenset)


WEBHOOK_EVENTS = ("alert:new", "alert:update")


def _url_origin(url: str) -> str:
    """scheme://host[:port] of a URL: its path or query may hold a token (Slack-style URLs)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port_ = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port_}/..."


def _url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "webhook"
    except ValueError:
        return "webhook"


def _webhook_name(settings: "WebhookSettings") -> str:
    return _url_host(settings.url)


def _webhook_url(url: str) -> str | None:
    # The URL is not echoed back: its path or query may be a credential.
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError when the port is not a number in range
    except ValueError:
        return "is not a valid URL (check the host and port)"
    if parts.scheme not in ("http", "https"):
        return f"must start with http:// or https:// (not {parts.scheme + '://' if parts.scheme else 'nothing'})"
    if not parts.hostname:
        return "has no host name"
    if parts.username is not None or parts.password is not None:
        return "must not hold user:password@ (put credentials in headers, e.g. Authorization)"
    if parts.fragment:
        return "must not have a #fragment"
    return None


def _signing_secret(secret: str) -> str | None:
    return None if secret else "must not be empty (remove it for unsigned requests)"


def _some_of(allowed: tuple[str, ...]):
    def test(values: tuple[str, ...]) -> str | None:
        return None if values else f"must not be empty (omit it for all of {', '.join(allowed)})"

    return test


@attrs.frozen
class WebhookSettings:
    """One [[webhooks]] entry: where alerts are POSTed as JSON, which ones, and how hard to try.

    `headers` values, `secret` and the URL's path and query may be credentials: they stay
    out of repr (and the notifier keeps them out of logs); `name` is what logs show."""

    url: str = field(repr=_url_origin, test=_webhook_url)
    name: str = field(attrs.Factory(_webhook_name, takes_self=True), test=not_empty)
    # Extra request headers, e.g. {"Authorization": "Bearer ..."}.
    headers: dict[str, str] = field(factory=dict, repr=False, hash=False)
    # HMAC-SHA256 key: the body's signature goes in `X-EyeNet-Signature: sha256=<hex>`.
    secret: str | None = field(None, repr=False, test=_signing_secret)
    severities: tuple[str, ...] = field(SEVERITIES, choices=SEVERITIES, test=_some_of(SEVERITIES))
    events: tuple[str, ...] = field(WEBHOOK_EVENTS, choices=WEBHOOK_EVENTS, test=_some_of(WEBHOOK_EVENTS))
    timeout: float = field(10.0, gt=0, unit=" seconds")  # for one attempt: connect, send, answer
    max_attempts: int = field(6, ge=1)
    backoff: float = field(1.0, gt=0, unit=" seconds")  # before the 2nd attempt, doubling each time up to backoff_max
    backoff_max: float = field(300.0, gt=0, unit=" seconds")
    queue: int = field(1000, ge=1)  # alerts waiting for this webhook; beyond, the oldest is dropped
    verify_tls: bool = True


def _networks(subnets: tuple[str, ...]) -> str | None:
    bad = []
    for subnet in subnets:
        try:
            ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            bad.append(repr(subnet))
    if not bad:
        return None
    return f"{', '.join(bad)} {'is not a network' if len(bad) == 1 else 'are not networks'} like 10.0.0.0/8"


@attrs.frozen
class TopologySettings:
    """[topology]: LLDP/CDP discovery (docs/topology.md)."""

    # Seconds between discovery cycles (also on demand: POST /api/topology/discover).
    interval: float = field(300.0, gt=0, unit=" seconds")
    concurrency: int = field(50, gt=0)  # devices read at once in a cycle
    # Devices nearest to EyeNet (its way into the network); default: EyeNet's gateway, else
    # a router (docs/topology.md, the log names the choice). A device cut off from them by a down device has its alerts
    # suppressed and linked to that device's alert.
    roots: tuple[str, ...] = ()
    # Auto-discovery (off unless subnets are given): neighbours whose management address
    # lies in one of these networks are added as devices with these settings.
    discover_subnets: tuple[str, ...] = field((), test=_networks)
    discover_version: str = field("2c", choices=tuple(COMMUNITY_VERSIONS))
    discover_community: str = field("public", repr=False)
    discover_port: int = field(161, test=port("UDP"))
    discover_poll_interval: float = field(60.0, gt=0, unit=" seconds")
    discover_tags: tuple[str, ...] = ("discovered",)


SCAN_METRICS = ("cpu", "memory", "bandwidth.in", "bandwidth.out")


def _scan_metrics(value: tuple[str, ...]) -> str | None:
    bad = [m for m in value if m not in SCAN_METRICS]
    return f"{', '.join(map(repr, bad))}: not one of {', '.join(SCAN_METRICS)}" if bad else None


@attrs.frozen
class AnomalySettings:
    """[anomaly]: scheduled anomaly scans of every device (docs/anomaly.md)."""

    # Seconds between scans; 0: no scans (jobs through POST /api/ml/jobs only).
    scan_interval: float = field(0.0, ge=0, unit=" seconds")
    metrics: tuple[str, ...] = field(SCAN_METRICS, test=_scan_metrics)
    # Findings below it are not published (ml:prediction) nor kept.
    min_confidence: float = field(0.8, ge=0.5, le=1)
    # The share of the time a scan's child may compute: after each batch the scan waits in
    # proportion, so that on a machine whose cores polls and push keep busy (or that shares
    # them between hyperthreads, where even nice 19 slows the other) a scan takes longer
    # rather than delaying them. 1: no waits.
    scan_cpu_share: float = field(0.25, gt=0, le=1)


def _engine_id(value: str) -> str | None:
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        return f"{value!r} is not hexadecimal"
    return None if 5 <= len(raw) <= 32 else f"must be 5 to 32 bytes (RFC 3411), not {len(raw)}"


@attrs.frozen
class TrapUser:
    """One [[traps.users]] entry: an SNMPv3 user that may send traps and informs."""

    user: str = field(test=not_empty)
    level: str | None = field(None, choices=LEVELS)
    auth_protocol: str = field("SHA", choices=tuple(AUTH_PROTOCOLS))
    auth_password: str | None = field(None, repr=False)
    priv_protocol: str = field("AES", choices=tuple(PRIV_PROTOCOLS))
    priv_password: str | None = field(None, repr=False)

    def usm_user(self) -> UsmUser:
        level = self.level or implied_level(self.auth_password, self.priv_password)
        return UsmUser(self.user, level, self.auth_protocol, self.auth_password or "", self.priv_protocol, self.priv_password or "")


@attrs.frozen
class TrapsSettings:
    """[traps]: the notification listener (off unless enabled)."""

    enabled: bool = False
    # "" (the default): every address, IPv4 and IPv6. Port 162 needs root or CAP_NET_BIND_SERVICE.
    address: str = ""
    port: int = field(162, test=port("UDP"))
    # Communities accepted from SNMPv1/v2c senders; empty: any.
    communities: tuple[str, ...] = field(("public",), repr=False)
    # This receiver's SNMPv3 engine id, in hex (Informs' senders localise keys to it); by default
    # one made from the host name, so that it stays the same across restarts.
    engine_id: str | None = field(None, test=_engine_id)
    queue: int = field(10_000, gt=0)  # notifications waiting for their handling; beyond, dropped and counted
    # Traps a second published (the trap event) and stored, per device and over all devices;
    # beyond, counted and logged. Traps that make a device be polled at once are not counted.
    device_rate: int = field(10, gt=0)
    total_rate: int = field(100, gt=0)
    users: tuple[TrapUser, ...] = ()


@attrs.frozen
class Config:
    path: str
    snmp: SnmpSettings = SnmpSettings()
    # A directory of operator profiles (docs/profiles.md), added to the shipped ones.
    profiles_dir: str | None = None
    store: StoreSettings = StoreSettings()
    poller: PollerSettings = PollerSettings()
    devices: tuple[DeviceConfig, ...] = ()
    auth: AuthSettings = AuthSettings()
    web: WebSettings = WebSettings()
    push: PushSettings = PushSettings()
    webhooks: tuple[WebhookSettings, ...] = ()
    # Alert rules (docs/alerts.md); a rule with a shipped rule's id replaces it.
    rules: tuple[Rule, ...] = ()
    topology: TopologySettings = TopologySettings()
    traps: TrapsSettings = TrapsSettings()
    anomaly: AnomalySettings = AnomalySettings()

    @property
    def token_settings(self) -> AuthSettings:
        """[auth] with the secret file resolved: jwt.secret beside the database unless set,
        so a configuration built in code never leaves a secret in the working directory."""
        if self.auth.secret_file is not None:
            return self.auth
        return attrs.evolve(self.auth, secret_file=str(Path(self.store.path).parent / SECRET_FILE))


# Where the commands look for their configuration file when none is given: the installed
# service's, then one in the current directory.
DEFAULT_PATHS = ("/etc/eyenet/eyenet.toml", "./eyenet.toml")


def find_config() -> str | None:
    """The first of DEFAULT_PATHS that exists, or None."""
    return next((p for p in DEFAULT_PATHS if Path(p).is_file()), None)


def default_config(how: str = "-c FILE") -> str:
    """find_config(), or a ConfigError saying where it looked and `how` to give one."""
    found = find_config()
    if found is None:
        raise ConfigError([f"no configuration file at {' or '.join(DEFAULT_PATHS)}: give one with {how}"])
    return found


def load_config(path: str | Path) -> Config:
    path = str(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_config(data, path)


# The sections that are one class each, in the example file's order.
SECTIONS = {
    "snmp": SnmpSettings, "store": StoreSettings, "auth": AuthSettings, "web": WebSettings, "push": PushSettings,
    "poller": PollerSettings, "topology": TopologySettings, "traps": TrapsSettings, "anomaly": AnomalySettings,
}
_TOP = {
    **{name: Check(dict) for name in (*SECTIONS, "profiles", "defaults")},
    **{name: Check(list) for name in ("devices", "webhooks", "rules")},
}


def _auth(r: Reader, auth: dict) -> None:
    algorithm = auth.get("algorithm", attrs.fields(AuthSettings).algorithm.default)
    if algorithm == "HS256":
        # Keys set with the default algorithm are a forgotten `algorithm`, not something to ignore.
        for name in ("private_key", "public_key"):
            if name in auth:
                r.problem(f"auth.{name}", "is only used with RS256, ES256 or EdDSA (auth.algorithm is HS256)")
    elif "private_key" not in auth:
        r.problem("auth.private_key", f"is required with auth.algorithm = {algorithm!r} (a PEM file)")
    fields = attrs.fields(AuthSettings)
    ttl = auth.get("token_ttl", fields.token_ttl.default)
    longest = auth.get("max_token_lifetime", fields.max_token_lifetime.default)
    if isinstance(ttl, int) and isinstance(longest, int) and ttl > longest:
        r.problem("auth.token_ttl", f"is longer than auth.max_token_lifetime ({longest} seconds): tokens would be refused")


# Device keys that may hold a credential: each may be given as { env = "NAME" } or
# { file = "path" } instead, so that it need not sit in this file.
SECRET_KEYS = ("community", "auth_password", "priv_password")


def _secrets(r: Reader, table: Mapping[str, Any], key: str, base: Path) -> dict[str, Any]:
    """table with each { env } or { file } reference of a SECRET_KEYS key read; the
    reference is left for the field's check to refuse when it is neither."""
    out = dict(table)
    for name in SECRET_KEYS:
        ref = table.get(name)
        if not isinstance(ref, Mapping) or len(ref) != 1 or not ({"env", "file"} & set(ref)):
            if isinstance(ref, Mapping):
                r.problem(f"{key}.{name}", 'must be a string, { env = "NAME" } or { file = "path" }')
                del out[name]
            continue
        del out[name]
        source, where = next(iter(ref.items()))
        if not isinstance(where, str) or not where:
            r.problem(f"{key}.{name}.{source}", "must be a non-empty string")
        elif source == "env":
            if (value := os.environ.get(where)) is None:
                r.problem(f"{key}.{name}", f"environment variable {where} is not set")
            else:
                out[name] = value
        else:
            path = base / where
            try:
                out[name] = path.read_text().rstrip("\r\n")
            except (OSError, UnicodeError) as exc:
                r.problem(f"{key}.{name}", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
    return out


def _devices(r: Reader, top: dict, base: Path) -> list[dict]:
    defaults = r.fields(DeviceConfig, _secrets(r, top.get("defaults", {}), "defaults", base), "defaults", exclude=("id", "host"))
    devices, seen = [], set()
    for key, raw in r.tables(top.get("devices", []), "devices", what="a table ([[devices]])"):
        fields = r.fields(DeviceConfig, _secrets(r, raw, key, base), key)
        if "id" not in fields or "host" not in fields:
            continue
        if fields["id"] in seen:
            r.problem(f"{key}.id", f"{fields['id']!r} is used by another device")
        seen.add(fields["id"])
        merged = {**defaults, **fields}
        try:
            device = DeviceConfig(**merged)
        except (TypeError, ValueError):  # a key already reported as wrong
            continue
        for problem in device_problems(device, own_keys=fields):
            r.problem(f"{key}.{problem.key}", problem.reason)
        devices.append(merged)
    return devices


# Headers the notifier owns: the message framing, and the signature (set `secret` instead).
WEBHOOK_RESERVED_HEADERS = ("host", "content-length", "transfer-encoding", "connection", "x-eyenet-signature")
_HTTP_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


_WEBHOOK = attrs.fields(WebhookSettings)


def _webhooks(r: Reader, raw: list) -> list[dict]:
    hooks = []
    for key, entry in r.tables(raw, "webhooks", what="a table ([[webhooks]])"):
        hook = r.fields(WebhookSettings, entry, key)
        for header, value in hook.get("headers", {}).items():
            # Never the value in a message: it is usually a credential.
            if not _HTTP_TOKEN.match(header):
                r.problem(f"{key}.headers", f"{header!r} is not a valid HTTP header name")
            elif header.lower() in WEBHOOK_RESERVED_HEADERS:
                how = "set secret instead" if header.lower() == "x-eyenet-signature" else "EyeNet sets it"
                r.problem(f"{key}.headers", f"{header!r} cannot be set ({how})")
            elif any(c in value for c in "\r\n\0"):
                r.problem(f"{key}.headers.{header}", "must not contain line breaks or NUL")
        backoff = typing.cast(float, hook.get("backoff", _WEBHOOK.backoff.default))
        backoff_max = typing.cast(float, hook.get("backoff_max", _WEBHOOK.backoff_max.default))
        if backoff > backoff_max:
            r.problem(f"{key}.backoff_max", f"must be at least backoff ({backoff:g} seconds)")
        hooks.append(hook)
    # Names label logs and health counters, so they must tell webhooks apart. A name derived
    # from the host gets a suffix when another webhook posts to the same host.
    names = set()
    for n, hook in enumerate(hooks):
        if "name" in hook:
            if hook["name"] in names:
                r.problem(f"webhooks[{n}].name", f"{hook['name']!r} is used by another webhook")
            names.add(hook["name"])
    for hook in hooks:
        if "name" not in hook and "url" in hook:
            base = _url_host(hook["url"])
            name, i = base, 1
            while name in names:
                i += 1
                name = f"{base}-{i}"
            hook["name"] = name
            names.add(name)
    return hooks


def _rules(r: Reader, raw: list) -> list[Rule]:
    rules, ids = [], set()
    for key, table in r.tables(raw, "rules", what="a table ([[rules]])"):
        rule = read_rule(r, table, key)
        if rule is None:
            continue
        if rule.id in ids:
            r.problem(f"{key}.id", f"{rule.id!r} is used by another rule")
        ids.add(rule.id)
        rules.append(rule)
    return rules


def _trap_users(r: Reader, raw: object, base: Path) -> tuple[TrapUser, ...]:
    if not isinstance(raw, list):
        r.problem("traps.users", "must be an array of tables ([[traps.users]])")
        return ()
    users, names = [], set()
    for key, table in r.tables(raw, "traps.users", what="a table ([[traps.users]])"):
        fields = r.fields(TrapUser, _secrets(r, table, key, base), key)
        if "user" not in fields:
            continue
        user = TrapUser(**fields)
        if user.user in names:
            r.problem(f"{key}.user", f"{user.user!r} is listed twice")
        names.add(user.user)
        problems = user_problems(
            user.user, user.level or implied_level(user.auth_password, user.priv_password),
            user.auth_protocol, user.auth_password or "", user.priv_protocol, user.priv_password or "",
        )
        for name, reason in problems:
            r.problem(f"{key}.{name}", reason)
        if not problems:
            users.append(user)
    return tuple(users)


def parse_config(data: dict, path: str = "<config>") -> Config:
    r = Reader(path)
    top = r.table(data, "", _TOP)
    base = Path(path).parent if path != "<config>" else Path.cwd()
    traps = dict(top.get("traps", {}))
    trap_users = _trap_users(r, traps.pop("users", []), base)
    top = {**top, "traps": traps}
    sections = {name: r.fields(cls, top.get(name, {}), name, exclude=("users",) if cls is TrapsSettings else ()) for name, cls in SECTIONS.items()}
    sections["traps"]["users"] = trap_users
    profiles = r.table(top.get("profiles", {}), "profiles", {"dir": Check(str)})
    _auth(r, sections["auth"])
    web = sections["web"]
    if "tls_key" in web and "tls_cert" not in web:
        r.problem("web.tls_key", "needs web.tls_cert as well")
    devices = _devices(r, top, base)
    webhooks = _webhooks(r, top.get("webhooks", []))
    rules = _rules(r, top.get("rules", []))

    def beside_config(p: str) -> str:
        # A relative path is relative to the configuration file, not to the service's cwd.
        return str((Path(path).parent / p).resolve()) if path != "<config>" else p

    for section, name in (("store", "path"), ("web", "tls_cert"), ("web", "tls_key"), ("auth", "secret_file"),
                          ("auth", "private_key"), ("auth", "public_key")):
        if name in sections[section]:
            sections[section][name] = beside_config(sections[section][name])
    for name in ("tls_cert", "tls_key"):
        if name in web and not Path(web[name]).is_file():
            r.problem(f"web.{name}", f"{web[name]} is not a file")
    profiles_dir = beside_config(profiles["dir"]) if "dir" in profiles else None
    if profiles_dir is not None and not Path(profiles_dir).is_dir():
        r.problem("profiles.dir", f"{profiles_dir} is not a directory")
    r.raise_problems(ConfigError)
    return Config(
        path=path,
        profiles_dir=profiles_dir,
        devices=tuple(DeviceConfig(**d) for d in devices),
        webhooks=tuple(WebhookSettings(**w) for w in webhooks),
        rules=tuple(rules),
        **{name: SECTIONS[name](**values) for name, values in sections.items()},
    )


# What a reload (SIGHUP) applies; every other part of the file is read at start only.
RELOADED = ("devices", "rules", "profiles_dir")


def restart_needed(old: Config, new: Config) -> list[str]:
    """The parts of the configuration that changed but take effect at the next start only."""
    return [
        f.name for f in attrs.fields(Config) if f.name not in (*RELOADED, "path") and getattr(old, f.name) != getattr(new, f.name)
    ]
