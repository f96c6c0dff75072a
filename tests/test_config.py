"""[web], [push] and [[webhooks]]: defaults, every problem named by key, relative paths beside the file."""

import itertools
import tomllib
from pathlib import Path

import pytest

from eyenet.config import (
    SECTIONS,
    ConfigError,
    PollerSettings,
    PushSettings,
    TopologySettings,
    WebhookSettings,
    WebSettings,
    load_config,
    parse_config,
)
from eyenet.devices.model import DeviceConfig
from eyenet.snmp.usm import UsmUser

EXAMPLE = Path(__file__).parent.parent / "config" / "eyenet.example.toml"


def test_the_example_documents_every_option_and_parses_to_the_defaults():
    config = load_config(EXAMPLE)
    assert config.web == WebSettings()
    assert config.push == PushSettings()
    assert config.topology == TopologySettings()
    assert config.poller == PollerSettings()
    text = EXAMPLE.read_text()
    for cls in SECTIONS.values():
        for field in cls.__attrs_attrs__:
            assert f"{field.name} =" in text, f"{field.name} is not documented in {EXAMPLE.name}"


def test_web_and_push_values():
    config = parse_config({
        "web": {"port": 5001, "metrics_auth": False, "cors_origins": ["https://noc.example"]},
        "push": {"events_per_minute": 5000, "sensitive_events": ["alert:new"], "sensitive_tags": ["pci"],
                 "event_roles": {"ml:prediction": "operator", "alert:update": "admin"}},
    })
    assert (config.web.port, config.web.metrics_auth, config.web.cors_origins) == (5001, False, ("https://noc.example",))
    assert config.push.events_per_minute == 5000
    assert config.push.sensitive_events == {"alert:new"} and config.push.sensitive_tags == {"pci"}
    assert config.push.event_roles == {"ml:prediction": "operator", "alert:update": "admin"}


def test_event_roles_name_event_types_and_roles():
    with pytest.raises(ConfigError) as exc:
        parse_config({"push": {"event_roles": {"alert:new": "root", "alert:nope": "admin", "error": "admin",
                                               "device:status": 1}}})
    types = "alert:new, alert:update, device:metrics, device:status, ml:prediction, topology:update, trap"
    assert exc.value.problems == [
        "<config>: push.event_roles.device:status: must be str, not int 1",
        "<config>: push.event_roles.alert:new: must be one of viewer, operator, admin, not 'root'",
        f"<config>: push.event_roles.alert:nope: unknown key (expected one of: {types})",
        f"<config>: push.event_roles.error: unknown key (expected one of: {types})",
    ]


def test_every_problem_is_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[web]\nport = 70000\nmetrics_auth = "yes"\ncors_origins = [1]\ntls_cert = "missing.pem"\nping_interval = 0\n'
        '[push]\nevents_per_minute = 0\nsensitive_events = ["alert:nope"]\nbogus = 1\n'
    )
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    text = str(exc.value)
    for key in ("web.port", "web.metrics_auth", "web.cors_origins", "web.tls_cert", "web.ping_interval",
                "push.events_per_minute", "push.sensitive_events", "push.bogus"):
        assert f"{path}: {key}:" in text, key
    assert f"{tmp_path / 'missing.pem'} is not a file" in text


def test_poller_values_and_problems():
    assert parse_config({"poller": {"interface_refresh": 0}}).poller.interface_refresh == 0
    with pytest.raises(ConfigError) as exc:
        parse_config({"poller": {"interface_refresh": -1, "slow_fraction": 2, "max_concurrent_polls": 0}})
    for key in ("poller.interface_refresh", "poller.slow_fraction", "poller.max_concurrent_polls"):
        assert f"{key}:" in str(exc.value), key


def test_devices_take_their_defaults_and_every_problem_is_named():
    config = parse_config({
        "defaults": {"community": "c", "poll_interval": 30},
        "devices": [{"id": "a", "host": "h", "tags": ["x"]}, {"id": "b", "host": "h", "community": "d"}],
    })
    assert config.devices == (
        DeviceConfig("a", "h", community="c", poll_interval=30.0, tags=("x",)),
        DeviceConfig("b", "h", community="d", poll_interval=30.0),
    )
    with pytest.raises(ConfigError) as exc:
        parse_config({
            "defaults": {"poll_interval": 0, "id": "x"},
            "devices": [{"id": "a", "host": "h"}, {"id": "b", "host": "", "community": 5}, {"id": "a", "host": "h2"}, 3],
        })
    assert exc.value.problems == [
        "<config>: defaults.poll_interval: must be 1 to 86400 seconds",
        "<config>: defaults.id: unknown key (expected one of: auth_password, auth_protocol, community, context, level, "
        "poll_interval, port, priv_password, priv_protocol, tags, user, version)",
        "<config>: devices[1].host: must not be empty",
        "<config>: devices[1].community: must be str, not int",  # a credential: never quoted
        "<config>: devices[2].id: 'a' is used by another device",
        "<config>: devices[3]: must be a table ([[devices]])",
    ]


def test_snmpv3_devices_with_secrets_from_the_environment_and_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("EYENET_TEST_AUTH", "auth-from-env")
    (tmp_path / "priv.secret").write_text("priv-from-file\n")
    (tmp_path / "eyenet.toml").write_text(
        '[defaults]\nversion = "3"\nuser = "ops"\nauth_protocol = "SHA-512"\nauth_password = { env = "EYENET_TEST_AUTH" }\n'
        '[[devices]]\nid = "a"\nhost = "h"\npriv_protocol = "AES-192-C"\npriv_password = { file = "priv.secret" }\ncontext = "vrf1"\n'
        '[[devices]]\nid = "b"\nhost = "h"\n'
        '[[devices]]\nid = "c"\nhost = "h"\nversion = "2c"\n'
    )
    a, b, c = load_config(tmp_path / "eyenet.toml").devices
    assert a.usm_user() == UsmUser("ops", "authPriv", "SHA-512", "auth-from-env", "AES-192-C", "priv-from-file")
    assert a.context == "vrf1" and "from" not in repr(a)
    assert b.security_level == "authNoPriv" and c.usm_user() is None


def test_snmpv3_problems_are_named_without_secrets(monkeypatch):
    monkeypatch.delenv("EYENET_TEST_NOPE", raising=False)
    with pytest.raises(ConfigError) as exc:
        parse_config({
            "devices": [
                {"id": "a", "host": "h", "version": "3"},
                {"id": "b", "host": "h", "version": "3", "user": "u", "level": "authPriv", "auth_password": "sh0rt"},
                {"id": "c", "host": "h", "user": "u", "auth_protocol": "SHA-1024"},
                {"id": "d", "host": "h", "version": "3", "user": "u", "auth_password": {"env": "EYENET_TEST_NOPE"}},
                {"id": "e", "host": "h", "version": "3", "user": "u", "priv_password": {"file": "/nonexistent/x"}},
                {"id": "f", "host": "h", "community": {"vault": "x"}},
            ],
        })
    assert exc.value.problems == [
        "<config>: devices[0].user: is required with version = \"3\"",
        "<config>: devices[1].auth_password: is needed for authPriv, of 8 characters at least",
        "<config>: devices[1].priv_password: is needed for authPriv",
        "<config>: devices[2].auth_protocol: must be one of MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512, not 'SHA-1024'",
        "<config>: devices[2].user: is only used with version = \"3\" (version is '2c')",
        "<config>: devices[3].auth_password: environment variable EYENET_TEST_NOPE is not set",
        "<config>: devices[4].priv_password: cannot read /nonexistent/x: No such file or directory",
        '<config>: devices[5].community: must be a string, { env = "NAME" } or { file = "path" }',
    ]
    assert "sh0rt" not in str(exc.value)


# --- [[webhooks]] ------------------------------------------------------------------------------

HEADER_VALUE = "Bearer hdr-s3cr3t"


def _example_webhook_toml() -> str:
    """The commented [[webhooks]] example of eyenet.example.toml, uncommented."""
    lines = EXAMPLE.read_text().splitlines()
    start = lines.index("# [[webhooks]]")
    block = itertools.takewhile(lambda line: line.startswith("#"), lines[start:])
    return "\n".join(line.removeprefix("#").removeprefix(" ") for line in block)


def test_the_example_documents_every_webhook_option_and_parses():
    text = EXAMPLE.read_text()
    for field in WebhookSettings.__attrs_attrs__:
        assert f"# {field.name} =" in text, f"{field.name} is not documented in {EXAMPLE.name}"
    assert load_config(EXAMPLE).webhooks == ()  # commented out: no webhook by default
    [hook] = parse_config(tomllib.loads(_example_webhook_toml())).webhooks
    assert hook == WebhookSettings(
        url="https://hooks.example.net/eyenet", name="noc-pager",
        headers={"Authorization": "Bearer CHANGE-ME"}, secret="CHANGE-ME",
    )


def test_webhook_values_defaults_and_names():
    config = parse_config({"webhooks": [
        {"url": "https://hooks.example.net/a?token=t", "headers": {"Authorization": HEADER_VALUE}, "secret": "k",
         "severities": ["critical"], "events": ["alert:new"], "timeout": 5, "max_attempts": 3, "backoff": 2,
         "backoff_max": 60, "queue": 10, "verify_tls": False},
        {"url": "http://hooks.example.net:8080/b"},
        {"url": "http://[::1]:9000/c", "name": "local"},
        {"url": "HTTPS://hooks.example.net/d"},
    ]})
    first, second, third, fourth = config.webhooks
    assert first == WebhookSettings(
        url="https://hooks.example.net/a?token=t", name="hooks.example.net", headers={"Authorization": HEADER_VALUE},
        secret="k", severities=("critical",), events=("alert:new",), timeout=5.0, max_attempts=3, backoff=2.0,
        backoff_max=60.0, queue=10, verify_tls=False,
    )
    assert isinstance(first.timeout, float) and isinstance(first.backoff_max, float)
    # Names tell webhooks apart (logs, /api/health): same host, a suffix.
    assert (second.name, third.name, fourth.name) == ("hooks.example.net-2", "local", "hooks.example.net-3")
    assert second == WebhookSettings(url="http://hooks.example.net:8080/b", name="hooks.example.net-2")
    assert (second.severities, second.events) == (("critical", "warning", "info"), ("alert:new", "alert:update"))
    assert (second.timeout, second.max_attempts, second.backoff, second.backoff_max, second.queue, second.verify_tls) == (
        10.0, 6, 1.0, 300.0, 1000, True)
    assert (second.headers, second.secret) == ({}, None)
    assert WebhookSettings(url="http://receiver.lan/x").name == "receiver.lan"  # built in code


def test_webhook_repr_shows_no_credentials():
    hook = WebhookSettings(url="https://hooks.example.net/T0/B1/url-s3cr3t?k=q-s3cr3t", headers={"Authorization": HEADER_VALUE},
                           secret="hmac-s3cr3t")
    text = repr(hook)
    assert "hooks.example.net" in text
    for secret in ("s3cr3t", "Authorization"):
        assert secret not in text


def test_every_webhook_problem_is_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[webhooks]]\nname = "x"\nbogus = 1\n'                                           # 0
        '[[webhooks]]\nurl = "ftp://files.example/"\nname = "x"\n'                        # 1
        '[[webhooks]]\nurl = "https://user:pw-s3cr3t@hooks.example/"\nname = ""\n'        # 2
        '[[webhooks]]\nurl = "https:///path-s3cr3t"\nsecret = ""\n'                       # 3
        '[[webhooks]]\nurl = "http://hooks.example:99999/path-s3cr3t"\n'                  # 4
        '[[webhooks]]\nurl = "http://hooks.example/#frag"\n'                              # 5
        '[[webhooks]]\nurl = "http://ok.example/"\nseverities = []\nevents = ["device:status"]\n'
        'timeout = 0\nbackoff = -1\nbackoff_max = 0\nmax_attempts = 0\nqueue = 0\nverify_tls = "no"\n'  # 6
        '[[webhooks]]\nurl = "http://ok.example/"\nseverities = ["urgent"]\nbackoff = 10\nbackoff_max = 5\n'
        'timeout = true\n'                                                                # 7
        '[[webhooks]]\nurl = "http://ok.example/"\nseverities = [1]\n'                    # 8
        f'[webhooks.headers]\n"Bad Header" = "{HEADER_VALUE}"\nContent-Length = "{HEADER_VALUE}"\n'
        f'X-EyeNet-Signature = "{HEADER_VALUE}"\nX-Number = 5\nX-Split = "{HEADER_VALUE}\\r\\nX-Injected: 1"\n'
        f'Authorization = "{HEADER_VALUE}"\n'
    )
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    text = str(exc.value)
    expected = {
        "webhooks[0].url": "is required",
        "webhooks[0].bogus": "unknown key",
        "webhooks[1].url": "must start with http:// or https:// (not ftp://)",
        "webhooks[1].name": "'x' is used by another webhook",
        "webhooks[2].url": "must not hold user:password@",
        "webhooks[2].name": "must not be empty",
        "webhooks[3].url": "has no host name",
        "webhooks[3].secret": "must not be empty",
        "webhooks[4].url": "is not a valid URL",
        "webhooks[5].url": "must not have a #fragment",
        "webhooks[6].severities": "must not be empty",
        "webhooks[6].events": "unknown ['device:status']",
        "webhooks[6].timeout": "must be greater than 0 seconds",
        "webhooks[6].backoff": "must be greater than 0 seconds",
        "webhooks[6].backoff_max": "must be greater than 0 seconds",
        "webhooks[6].max_attempts": "must be 1 or more",
        "webhooks[6].queue": "must be 1 or more",
        "webhooks[6].verify_tls": "must be bool",
        "webhooks[7].severities": "unknown ['urgent']",
        "webhooks[7].backoff_max": "must be at least backoff (10 seconds)",
        "webhooks[7].timeout": "must be int or float, not bool",
        "webhooks[8].severities": "must be a list of strings",
        "webhooks[8].headers": "'Bad Header' is not a valid HTTP header name",
        "webhooks[8].headers.X-Number": "must be str, not int",
        "webhooks[8].headers.X-Split": "must not contain line breaks or NUL",
    }
    for key, reason in expected.items():
        assert f"{path}: {key}: {reason}" in text, (key, text)
    assert f"{path}: webhooks[8].headers: 'Content-Length' cannot be set (EyeNet sets it)" in text
    assert f"{path}: webhooks[8].headers: 'X-EyeNet-Signature' cannot be set (set secret instead)" in text
    assert len(exc.value.problems) == len(expected) + 2, text
    assert "s3cr3t" not in text  # header values and URL credentials or paths are never echoed


def test_webhooks_must_be_an_array_of_tables():
    with pytest.raises(ConfigError) as exc:
        parse_config({"webhooks": [1, {"url": "http://ok.example/"}]})
    assert exc.value.problems == ["<config>: webhooks[0]: must be a table ([[webhooks]])"]
    with pytest.raises(ConfigError) as exc:
        parse_config({"webhooks": {"url": "http://ok.example/"}})
    assert exc.value.problems[0].startswith("<config>: webhooks: must be list, not dict")


def test_topology_and_rules_problems_are_named():
    with pytest.raises(ConfigError) as exc:
        parse_config({
            "topology": {"interval": 0, "discover_subnets": ["10.0.0.0/33"], "discover_version": "3", "colour": 1},
            "rules": [{"id": "a", "metric": "device.cpu", "op": ">", "threshold": 90, "severity": "warning"},
                      {"id": "a", "metric": "device.cpu", "op": ">", "severity": "loud"}, "x"],
        })
    text = str(exc.value)
    for words in ("topology.interval: must be greater than 0", "topology.discover_subnets: '10.0.0.0/33' is not a network",
                  "topology.discover_version: must be one of", "topology.colour: unknown key",
                  "rules[1].severity: must be one of", "rules[1].threshold: required", "rules[2]: must be a table"):
        assert words in text, text
