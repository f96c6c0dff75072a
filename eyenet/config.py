"""TOML configuration -> frozen attrs classes; every error names the file, the key and the reason."""

import ipaddress
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from eyenet.alerts.rules import Rule, RuleError, parse_rule
from eyenet.devices.model import DEVICE_ID, DeviceConfig
from eyenet.events import EVENT_TYPES, SEVERITIES
from eyenet.snmp.message import VERSIONS

JWT_ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")


class ConfigError(Exception):
    """One or more problems in a configuration file; str() lists them, one per line."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@attrs.frozen
class SnmpSettings:
    timeout: float = 1.0
    retries: int = 2
    max_repetitions: int = 25
    max_repetitions_cap: int = 100
    max_in_flight: int = 1000


@attrs.frozen
class StoreSettings:
    path: str = "eyenet.db"
    raw_days: float = 2
    rollup_5m_days: float = 30
    rollup_1h_days: float = 400


@attrs.frozen
class PollerSettings:
    # Device polls running at once; each poll walks a handful of columns concurrently.
    max_concurrent_polls: int = 200
    # A poll slower than this share of the device's interval marks it degraded.
    slow_fraction: float = 0.5
    # Seconds after which interface names, descriptions, aliases and types are read again
    # even when nothing says the interface table changed (ifAlias edits say nothing).
    interface_refresh: float = 600.0


SECRET_FILE = "jwt.secret"


@attrs.frozen
class AuthSettings:
    issuer: str = "eyenet"
    token_ttl: int = 3600  # seconds
    algorithm: str = "HS256"
    # 32+ random bytes, created at first start with mode 0600: the HS256 signing key and,
    # whatever the algorithm, the root of the per-session event keys. None: jwt.secret
    # beside the database (Config.token_settings resolves it).
    secret_file: str | None = None
    # PEM files for RS256, ES256 and EdDSA; the public key is derived from the private one if not given.
    private_key: str | None = None
    public_key: str | None = None
    clock_skew: int = 0  # seconds of leeway on exp/iat for clocks of other servers


@attrs.frozen
class WebSettings:
    """The one port: REST, /ws, Socket.IO and /metrics (the app maps these onto its parts)."""

    host: str = "0.0.0.0"
    port: int = 5000
    # PEM certificate (chain) and key for HTTPS/WSS; no TLS when unset.
    tls_cert: str | None = None
    tls_key: str | None = None
    # Origins allowed to use Socket.IO long-polling from a browser; "*" for any.
    cors_origins: tuple[str, ...] = ()
    # /metrics needs a viewer token unless this is false.
    metrics_auth: bool = True
    ping_interval: float = 25.0  # Socket.IO heartbeat, seconds
    ping_timeout: float = 20.0


@attrs.frozen
class PushConfig:
    """events.md's limits (these defaults) and which payloads are encrypted."""

    max_subscriptions: int = 100
    client_events_per_minute: int = 1000
    events_per_minute: int = 1000
    auth_timeout: float = 10.0
    replay_events: int = 10_000
    recovery_seconds: float = 120.0
    sensitive_events: tuple[str, ...] = ()
    sensitive_devices: tuple[str, ...] = ()
    sensitive_tags: tuple[str, ...] = ()


WEBHOOK_EVENTS = ("alert:new", "alert:update")
# Headers the notifier owns: the message framing, and the signature (set `secret` instead).
WEBHOOK_RESERVED_HEADERS = ("host", "content-length", "transfer-encoding", "connection", "x-eyenet-signature")
_HTTP_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _url_origin(url: str) -> str:
    """scheme://host[:port] of a URL: its path or query may hold a token (Slack-style URLs)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}/..."


def _url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "webhook"
    except ValueError:
        return "webhook"


def _webhook_name(settings: "WebhookSettings") -> str:
    return _url_host(settings.url)


@attrs.frozen
class WebhookSettings:
    """One [[webhooks]] entry: where alerts are POSTed as JSON, which ones, and how hard to try.

    `headers` values, `secret` and the URL's path and query may be credentials: they stay
    out of repr (and the notifier keeps them out of logs); `name` is what logs show."""

    url: str = attrs.field(repr=_url_origin)
    name: str = attrs.field(default=attrs.Factory(_webhook_name, takes_self=True))
    # Extra request headers, e.g. {"Authorization": "Bearer ..."}.
    headers: dict[str, str] = attrs.field(factory=dict, repr=False, hash=False)
    # HMAC-SHA256 key: the body's signature goes in `X-EyeNet-Signature: sha256=<hex>`.
    secret: str | None = attrs.field(default=None, repr=False)
    severities: tuple[str, ...] = SEVERITIES
    events: tuple[str, ...] = WEBHOOK_EVENTS
    timeout: float = 10.0  # seconds for one attempt: connect, send, answer
    max_attempts: int = 6
    backoff: float = 1.0  # seconds before the 2nd attempt, doubling each time up to backoff_max
    backoff_max: float = 300.0
    queue: int = 1000  # alerts waiting for this webhook; beyond, the oldest is dropped
    verify_tls: bool = True


@attrs.frozen
class TopologySettings:
    """[topology]: LLDP/CDP discovery (docs/topology.md)."""

    interval: float = 300.0  # seconds between discovery cycles (also on demand: POST /api/topology/discover)
    concurrency: int = 50  # devices read at once in a cycle
    # Devices nearest to EyeNet (its way into the network); default: the best-connected
    # monitored device. A device cut off from them by a down device has its alerts
    # suppressed and linked to that device's alert.
    roots: tuple[str, ...] = ()
    # Auto-discovery (off unless subnets are given): neighbours whose management address
    # lies in one of these networks are added as devices with these settings.
    discover_subnets: tuple[str, ...] = ()
    discover_version: str = "2c"
    discover_community: str = attrs.field(default="public", repr=False)
    discover_port: int = 161
    discover_poll_interval: float = 60.0
    discover_tags: tuple[str, ...] = ("discovered",)


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
    push: PushConfig = PushConfig()
    webhooks: tuple[WebhookSettings, ...] = ()
    # Alert rules (docs/alerts.md); a rule with a shipped rule's id replaces it.
    rules: tuple[Rule, ...] = ()
    topology: TopologySettings = TopologySettings()

    @property
    def token_settings(self) -> AuthSettings:
        """[auth] with the secret file resolved: jwt.secret beside the database unless set,
        so a configuration built in code never leaves a secret in the working directory."""
        if self.auth.secret_file is not None:
            return self.auth
        return attrs.evolve(self.auth, secret_file=str(Path(self.store.path).parent / SECRET_FILE))


class _Reader:
    """Collects every problem instead of stopping at the first."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[str] = []

    def problem(self, key: str, reason: str) -> None:
        self.problems.append(f"{self.path}: {key}: {reason}")

    def table(self, data: dict, key: str, fields: dict[str, type | tuple[type, ...]], required: tuple[str, ...] = ()) -> dict:
        out = {}
        for name in required:
            if name not in data:
                self.problem(f"{key}.{name}" if key else name, "is required")
        for name, value in data.items():
            where = f"{key}.{name}" if key else name
            if name not in fields:
                self.problem(where, f"unknown key (expected one of: {', '.join(sorted(fields))})")
                continue
            expected = fields[name]
            allowed = expected if isinstance(expected, tuple) else (expected,)
            if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, expected):
                names = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
                self.problem(where, f"must be {names}, not {type(value).__name__} {value!r}")
                continue
            out[name] = value
        return out


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


def _strings(r: _Reader, section: dict, table: str, key: str) -> None:
    """A list of strings in `section[key]`, made a tuple; a problem otherwise."""
    if key in section:
        if not all(isinstance(v, str) and v for v in section[key]):
            r.problem(f"{table}.{key}", "must be a list of non-empty strings")
        section[key] = tuple(section[key])


def _web(r: _Reader, data: dict) -> dict:
    web = r.table(data, "web", {
        "host": str, "port": int, "tls_cert": str, "tls_key": str, "cors_origins": list, "metrics_auth": bool,
        "ping_interval": (int, float), "ping_timeout": (int, float),
    })
    if not 0 <= web.get("port", 5000) < 65536:
        r.problem("web.port", f"{web['port']} is not a TCP port (0-65535)")
    for name in ("ping_interval", "ping_timeout"):
        if web.get(name, 1) <= 0:
            r.problem(f"web.{name}", "must be greater than 0 seconds")
    if "tls_key" in web and "tls_cert" not in web:
        r.problem("web.tls_key", "needs web.tls_cert as well")
    _strings(r, web, "web", "cors_origins")
    return web


def _push(r: _Reader, data: dict) -> dict:
    push = r.table(data, "push", {
        "max_subscriptions": int, "client_events_per_minute": int, "events_per_minute": int,
        "auth_timeout": (int, float), "replay_events": int, "recovery_seconds": (int, float),
        "sensitive_events": list, "sensitive_devices": list, "sensitive_tags": list,
    })
    for name in ("max_subscriptions", "client_events_per_minute", "events_per_minute", "auth_timeout",
                 "replay_events", "recovery_seconds"):
        if push.get(name, 1) <= 0:
            r.problem(f"push.{name}", "must be greater than 0")
    for name in ("sensitive_events", "sensitive_devices", "sensitive_tags"):
        _strings(r, push, "push", name)
    unknown = set(push.get("sensitive_events", ())) - set(EVENT_TYPES)
    if unknown:
        r.problem("push.sensitive_events", f"unknown event types {sorted(unknown)}: use some of {', '.join(EVENT_TYPES)}")
    return push


def _webhook_url(r: _Reader, key: str, url: str) -> None:
    # The URL is not echoed back: its path or query may be a credential.
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError when the port is not a number in range
    except ValueError:
        r.problem(key, "is not a valid URL (check the host and port)")
        return
    if parts.scheme not in ("http", "https"):
        r.problem(key, f"must start with http:// or https:// (not {parts.scheme + '://' if parts.scheme else 'nothing'})")
    elif not parts.hostname:
        r.problem(key, "has no host name")
    elif parts.username is not None or parts.password is not None:
        r.problem(key, "must not hold user:password@ (put credentials in headers, e.g. Authorization)")
    elif parts.fragment:
        r.problem(key, "must not have a #fragment")


def _webhooks(r: _Reader, raw: list) -> list[dict]:
    fields: dict[str, type | tuple[type, ...]] = {
        "url": str, "name": str, "headers": dict, "secret": str, "severities": list, "events": list,
        "timeout": (int, float), "max_attempts": int, "backoff": (int, float), "backoff_max": (int, float),
        "queue": int, "verify_tls": bool,
    }
    hooks = []
    for n, entry in enumerate(raw):
        key = f"webhooks[{n}]"
        if not isinstance(entry, dict):
            r.problem(key, "must be a table ([[webhooks]])")
            continue
        hook = r.table(entry, key, fields, required=("url",))
        if "url" in hook:
            _webhook_url(r, f"{key}.url", hook["url"])
        if hook.get("name") == "":
            r.problem(f"{key}.name", "must not be empty")
        headers = hook.get("headers", {})
        for header, value in headers.items():
            # Never the value in a message: it is usually a credential.
            if not _HTTP_TOKEN.match(header):
                r.problem(f"{key}.headers", f"{header!r} is not a valid HTTP header name")
            elif header.lower() in WEBHOOK_RESERVED_HEADERS:
                how = "set secret instead" if header.lower() == "x-eyenet-signature" else "EyeNet sets it"
                r.problem(f"{key}.headers", f"{header!r} cannot be set ({how})")
            elif not isinstance(value, str):
                r.problem(f"{key}.headers.{header}", f"must be a string, not {type(value).__name__}")
            elif any(c in value for c in "\r\n\0"):
                r.problem(f"{key}.headers.{header}", "must not contain line breaks or NUL")
        if hook.get("secret") == "":
            r.problem(f"{key}.secret", "must not be empty (remove it for unsigned requests)")
        for name, allowed in (("severities", SEVERITIES), ("events", WEBHOOK_EVENTS)):
            if name in hook:
                values = hook[name]
                if not values:
                    r.problem(f"{key}.{name}", f"must not be empty (omit it for all of {', '.join(allowed)})")
                elif not all(isinstance(v, str) for v in values):
                    r.problem(f"{key}.{name}", "must be a list of strings")
                elif unknown := sorted(set(values) - set(allowed)):
                    r.problem(f"{key}.{name}", f"unknown {unknown}: use some of {', '.join(allowed)}")
                hook[name] = tuple(values)
        for name in ("timeout", "backoff", "backoff_max"):
            if name in hook and hook[name] <= 0:
                r.problem(f"{key}.{name}", "must be greater than 0 seconds")
            elif name in hook:
                hook[name] = float(hook[name])
        for name in ("max_attempts", "queue"):
            if hook.get(name, 1) < 1:
                r.problem(f"{key}.{name}", "must be 1 or more")
        if hook.get("backoff", 1.0) > hook.get("backoff_max", 300.0) > 0:
            r.problem(f"{key}.backoff_max", f"must be at least backoff ({hook.get('backoff', 1.0):g} seconds)")
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


def _topology(r: _Reader, data: dict) -> dict:
    t = r.table(data, "topology", {
        "interval": (int, float), "concurrency": int, "roots": list, "discover_subnets": list,
        "discover_version": str, "discover_community": str, "discover_port": int,
        "discover_poll_interval": (int, float), "discover_tags": list,
    })
    for name in ("interval", "concurrency", "discover_poll_interval"):
        if t.get(name, 1) <= 0:
            r.problem(f"topology.{name}", "must be greater than 0")
    for name in ("roots", "discover_subnets", "discover_tags"):
        _strings(r, t, "topology", name)
    for n, subnet in enumerate(t.get("discover_subnets", ())):
        try:
            ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            r.problem(f"topology.discover_subnets[{n}]", f"{subnet!r} is not a network like 10.0.0.0/8")
    if t.get("discover_version", "2c") not in VERSIONS:
        r.problem("topology.discover_version", f"must be one of {', '.join(VERSIONS)}")
    if not 0 < t.get("discover_port", 161) < 65536:
        r.problem("topology.discover_port", "is not a UDP port (1-65535)")
    return t


def _rules(r: _Reader, raw: list) -> list[Rule]:
    rules, ids = [], set()
    for n, table in enumerate(raw):
        key = f"rules[{n}]"
        if not isinstance(table, dict):
            r.problem(key, "must be a table ([[rules]])")
            continue
        try:
            rule = parse_rule(table)
        except RuleError as exc:
            for problem in exc.problems:  # each "field: reason"
                field, _, reason = problem.partition(": ")
                r.problem(f"{key}.{field}", reason)
            continue
        if rule.id in ids:
            r.problem(f"{key}.id", f"{rule.id!r} is used by another rule")
        ids.add(rule.id)
        rules.append(rule)
    return rules


def parse_config(data: dict, path: str = "<config>") -> Config:
    r = _Reader(path)
    top = r.table(
        data, "",
        {"snmp": dict, "store": dict, "poller": dict, "profiles": dict, "auth": dict, "web": dict, "push": dict,
         "defaults": dict, "devices": list, "webhooks": list, "rules": list, "topology": dict},
    )
    topology = _topology(r, top.get("topology", {}))
    webhooks = _webhooks(r, top.get("webhooks", []))
    rules = _rules(r, top.get("rules", []))
    web = _web(r, top.get("web", {}))
    push = _push(r, top.get("push", {}))
    profiles = r.table(top.get("profiles", {}), "profiles", {"dir": str})
    store = r.table(
        top.get("store", {}),
        "store",
        {"path": str, "raw_days": (int, float), "rollup_5m_days": (int, float), "rollup_1h_days": (int, float)},
    )
    for name in ("raw_days", "rollup_5m_days", "rollup_1h_days"):
        if name in store and store[name] <= 0:
            r.problem(f"store.{name}", "must be greater than 0 days")
    poller = r.table(
        top.get("poller", {}), "poller",
        {"max_concurrent_polls": int, "slow_fraction": (int, float), "interface_refresh": (int, float)},
    )
    if poller.get("max_concurrent_polls", 1) <= 0:
        r.problem("poller.max_concurrent_polls", "must be greater than 0")
    if not 0 < poller.get("slow_fraction", 0.5) <= 1:
        r.problem("poller.slow_fraction", "must be more than 0 and at most 1")
    if poller.get("interface_refresh", 600) < 0:
        r.problem("poller.interface_refresh", "must be 0 (read every poll) or more seconds")
    snmp = r.table(
        top.get("snmp", {}),
        "snmp",
        {"timeout": (int, float), "retries": int, "max_repetitions": int, "max_repetitions_cap": int, "max_in_flight": int},
    )
    for name in ("timeout", "max_repetitions", "max_repetitions_cap", "max_in_flight"):
        if name in snmp and snmp[name] <= 0:
            r.problem(f"snmp.{name}", "must be greater than 0")
    if snmp.get("retries", 0) < 0:
        r.problem("snmp.retries", "must be 0 or more")
    device_fields: dict[str, type | tuple[type, ...]] = {
        "id": str, "host": str, "port": int, "version": str, "community": str,
        "poll_interval": (int, float), "tags": list,
    }
    defaults = r.table(top.get("defaults", {}), "defaults", {k: v for k, v in device_fields.items() if k not in ("id", "host")})
    devices = []
    seen = set()
    for n, raw in enumerate(top.get("devices", [])):
        key = f"devices[{n}]"
        if not isinstance(raw, dict):
            r.problem(key, "must be a table ([[devices]])")
            continue
        fields = {**defaults, **r.table(raw, key, device_fields, required=("id", "host"))}
        if "id" not in fields or "host" not in fields:
            continue
        if not DEVICE_ID.match(fields["id"]):
            r.problem(f"{key}.id", f"{fields['id']!r} must be 1-64 letters, digits, '.', '_' or '-' (it appears in URLs)")
        elif fields["id"] in seen:
            r.problem(f"{key}.id", f"{fields['id']!r} is used by another device")
        seen.add(fields["id"])
        if fields.get("version", "2c") not in VERSIONS:
            r.problem(f"{key}.version", f"{fields['version']!r} is not one of {', '.join(VERSIONS)}")
        if not 0 < fields.get("port", 161) < 65536:
            r.problem(f"{key}.port", f"{fields['port']} is not a UDP port (1-65535)")
        if fields.get("poll_interval", 60) <= 0:
            r.problem(f"{key}.poll_interval", "must be greater than 0 seconds")
        tags = fields.get("tags", [])
        if not all(isinstance(t, str) for t in tags):
            r.problem(f"{key}.tags", "must be a list of strings")
        fields["tags"] = tuple(tags)
        devices.append(fields)

    def beside_config(p: str) -> str:
        # A relative path is relative to the configuration file, not to the service's cwd.
        return str((Path(path).parent / p).resolve()) if path != "<config>" else p

    if "path" in store:
        store["path"] = beside_config(store["path"])
    for name in ("tls_cert", "tls_key"):
        if name in web:
            web[name] = beside_config(web[name])
            if not Path(web[name]).is_file():
                r.problem(f"web.{name}", f"{web[name]} is not a file")
    profiles_dir = beside_config(profiles["dir"]) if "dir" in profiles else None
    if profiles_dir is not None and not Path(profiles_dir).is_dir():
        r.problem("profiles.dir", f"{profiles_dir} is not a directory")
    auth = r.table(
        top.get("auth", {}),
        "auth",
        {
            "issuer": str, "token_ttl": int, "algorithm": str, "secret_file": str, "private_key": str,
            "public_key": str, "clock_skew": int,
        },
    )
    if auth.get("issuer") == "":
        r.problem("auth.issuer", "must not be empty")
    if auth.get("token_ttl", 1) <= 0:
        r.problem("auth.token_ttl", "must be greater than 0 seconds")
    if auth.get("clock_skew", 0) < 0:
        r.problem("auth.clock_skew", "must be 0 or more seconds")
    algorithm = auth.get("algorithm", "HS256")
    if algorithm not in JWT_ALGORITHMS:
        r.problem("auth.algorithm", f"{algorithm!r} is not one of {', '.join(JWT_ALGORITHMS)}")
    elif algorithm == "HS256":
        # Keys set with the default algorithm are a forgotten `algorithm`, not something to ignore.
        for name in ("private_key", "public_key"):
            if name in auth:
                r.problem(f"auth.{name}", "is only used with RS256, ES256 or EdDSA (auth.algorithm is HS256)")
    elif "private_key" not in auth:
        r.problem("auth.private_key", f"is required with auth.algorithm = {algorithm!r} (a PEM file)")
    for name in ("secret_file", "private_key", "public_key"):
        if name in auth:
            auth[name] = beside_config(auth[name])
    if r.problems:
        raise ConfigError(r.problems)
    return Config(
        path=path,
        snmp=SnmpSettings(**snmp),
        profiles_dir=profiles_dir,
        store=StoreSettings(**store),
        poller=PollerSettings(**poller),
        devices=tuple(DeviceConfig(**d) for d in devices),
        auth=AuthSettings(**auth),
        web=WebSettings(**web),
        push=PushConfig(**push),
        webhooks=tuple(WebhookSettings(**w) for w in webhooks),
        rules=tuple(rules),
        topology=TopologySettings(**topology),
    )
