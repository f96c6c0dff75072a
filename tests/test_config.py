"""[web] and [push]: defaults, every problem named by key, relative paths beside the file."""

from pathlib import Path

import pytest

from eyenet.config import ConfigError, PushConfig, WebSettings, load_config, parse_config

EXAMPLE = Path(__file__).parent.parent / "config" / "eyenet.example.toml"


def test_the_example_documents_and_parses_every_web_and_push_option():
    config = load_config(EXAMPLE)
    assert config.web == WebSettings()
    assert config.push == PushConfig()
    text = EXAMPLE.read_text()
    for cls in (WebSettings, PushConfig):
        for field in cls.__attrs_attrs__:
            assert f"{field.name} =" in text, f"{field.name} is not documented in {EXAMPLE.name}"


def test_web_and_push_values():
    config = parse_config({
        "web": {"port": 5001, "metrics_auth": False, "cors_origins": ["https://noc.example"]},
        "push": {"events_per_minute": 5000, "sensitive_events": ["alert:new"], "sensitive_tags": ["pci"]},
    })
    assert (config.web.port, config.web.metrics_auth, config.web.cors_origins) == (5001, False, ("https://noc.example",))
    assert config.push.events_per_minute == 5000
    assert config.push.sensitive_events == ("alert:new",) and config.push.sensitive_tags == ("pci",)


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
