"""REST shapes micro-benchmark: how a declared shape costs in encoding and validating.

Two jobs a REST shape does on every request:

  encode   a typical list answer: GET /api/devices with --items devices (polled, with
           metrics) and GET /api/alerts with --items alerts, from the domain objects
           to the bytes of the body;
  decode   a typical request body: POST /api/devices's NewDevice, from bytes to a
           checked value (type, pattern, range, unknown fields), --decodes times.

Candidates, each doing the whole job:

  current  dicts built by the handlers + json.dumps; json.loads + the hand-written
           JSON-schema check of openapi.py (the code of eyenet.web.rest as it is);
  msgspec  msgspec.Struct declarations: Structs built from the domain objects +
           msgspec.json.encode; msgspec.json.decode(type=NewDevice);
  cattrs   attrs classes whose validators come from field declarations, cattrs'
           orjson converter (renames to camelCase) + orjson.dumps; orjson.loads +
           cattrs structure (forbid_extra_keys).

All candidates' bytes decode to the same JSON (checked before timing). The batch
with the least CPU time (time.process_time) of --repeat gives the figure, as
timeit takes the best. Prints one JSON line: microseconds per job and the ratio of
each candidate to `current`. No network; needs msgspec and cattrs installed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the work tree's eyenet

import attrs  # noqa: E402
import cattrs  # noqa: E402
import msgspec  # noqa: E402
import orjson  # noqa: E402
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override  # noqa: E402
from cattrs.preconf.orjson import make_converter  # noqa: E402

from eyenet.alerts.engine import Alert  # noqa: E402
from eyenet.devices.inventory import LiveState, Monitored  # noqa: E402
from eyenet.devices.model import DEVICE_ID, DeviceConfig  # noqa: E402
from eyenet.events import DeviceMetrics, DeviceStatus, InterfaceMetrics, rfc3339  # noqa: E402
from eyenet.web.http import Request, Response  # noqa: E402
from eyenet.web.rest import router  # noqa: E402
from eyenet.web.rest.devices import DeviceRoutes  # noqa: E402
from eyenet.web.rest.openapi import HOST_PATTERN  # noqa: E402

NEW_DEVICE = json.dumps({
    "id": "sw-0042", "host": "10.1.2.3", "port": 161, "version": "2c", "community": "public",
    "pollInterval": 60, "tags": ["edge", "dc1"],
}).encode()


def monitored(n: int) -> list[Monitored]:
    now = datetime(2025, 1, 3, 7, 12, 55, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        config = DeviceConfig(f"sw-{i:04d}", f"10.0.{i // 250}.{i % 250 + 1}", tags=("edge", "dc1"))
        live = LiveState()
        live.apply(DeviceStatus(config.id, "up", now, uptime=86400 + i, last_seen=now))
        live.apply(DeviceMetrics(config.id, now, cpu=12.5 + i % 50, memory=40.25, bandwidth_in=1.5e6 + i, bandwidth_out=9e5,
                                 interfaces=(InterfaceMetrics(1, "Gi1/0/1", "up", 1e6, 2e6, 0.0, 0.0),)))
        out.append(Monitored(config, "config", live))
    return out


def alerts(n: int) -> list[Alert]:
    start = datetime(2025, 1, 3, tzinfo=timezone.utc)
    return [
        Alert(f"al-{i:06d}", "cpu-high", f"sw-{i % 1000:04d}", None, "device.cpu", "warning", "CPU usage exceeded threshold",
              "open", 93.5, 90, created_at=start + timedelta(seconds=i), updated_at=start + timedelta(seconds=i))
        for i in range(n)
    ]


# -- current: the handlers' dicts, json, the hand-written check ----------------------------------


class Current:
    def __init__(self) -> None:
        self.devices = DeviceRoutes(services=_Services())

    def encode_devices(self, items: list[Monitored]) -> bytes:
        return Response.json({"devices": [self.devices._view(m) for m in items]}).body

    def encode_alerts(self, items: list[Alert]) -> bytes:
        return Response.json({"alerts": [a.to_json(None) for a in items]}).body

    def decode(self, body: bytes):
        request = Request("POST", "/api/devices", "/api/devices", {}, (("content-type", "application/json"),), body, None)
        return router._json_body(request, "NewDevice")


@attrs.frozen
class _Services:
    tz: None = None


# -- msgspec ----------------------------------------------------------------------------------------


class _Bandwidth(msgspec.Struct):
    in_: int | None = msgspec.field(name="in")
    out: int | None


class _Metrics(msgspec.Struct):
    cpu: float | None
    memory: float | None
    bandwidth: _Bandwidth
    uptime: int | None


class _Device(msgspec.Struct, rename="camel"):
    id: str
    name: str
    host: str
    type: Literal["router", "switch", "endpoint"] | None
    vendor: str | None
    model: str | None
    tags: list[str]
    status: Literal["up", "down", "degraded"] | None
    reason: str | None
    last_seen: str | None
    metrics: _Metrics
    port: int
    version: str
    poll_interval: float
    source: Literal["config", "api"]


class _DeviceList(msgspec.Struct):
    devices: list[_Device]


class _Alert(msgspec.Struct, rename="camel"):
    alert_id: str
    rule_id: str
    severity: str
    device_id: str
    interface: str | None
    metric: str
    message: str
    status: str
    value: float | None
    threshold: float | None
    created_at: str
    updated_at: str
    updated_by: str | None
    suppressed_by: str | None


class _AlertList(msgspec.Struct):
    alerts: list[_Alert]


class _NewDevice(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=DEVICE_ID.pattern)]
    host: Annotated[str, msgspec.Meta(max_length=253, pattern=HOST_PATTERN)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 161
    version: Literal["1", "2c"] = "2c"
    community: str = "public"
    poll_interval: Annotated[float, msgspec.Meta(ge=1, le=86400)] = 60
    tags: list[str] = []


def _metrics_msgspec(live: LiveState) -> _Metrics:
    m = live.metrics
    if m is None:
        return _Metrics(None, None, _Bandwidth(None, None), live.uptime)
    return _Metrics(
        None if m.cpu is None else round(m.cpu, 1), None if m.memory is None else round(m.memory, 1),
        _Bandwidth(None if m.bandwidth_in is None else round(m.bandwidth_in),
                   None if m.bandwidth_out is None else round(m.bandwidth_out)),
        live.uptime,
    )


class Msgspec:
    decoder = msgspec.json.Decoder(_NewDevice)
    encoder = msgspec.json.Encoder()

    def encode_devices(self, items: list[Monitored]) -> bytes:
        return self.encoder.encode(_DeviceList([
            _Device(d.id, d.id, d.host, None, None, None, list(d.tags), m.live.status, m.live.reason,
                    rfc3339(m.live.last_seen), _metrics_msgspec(m.live), d.port, d.version, d.poll_interval, m.source)
            for m in items for d in (m.config,)
        ]))

    def encode_alerts(self, items: list[Alert]) -> bytes:
        return self.encoder.encode(_AlertList([
            _Alert(a.id, a.rule_id, a.severity, a.device_id, a.interface, a.metric, a.message, a.status, a.value, a.threshold,
                   rfc3339(a.created_at), rfc3339(a.updated_at), a.updated_by, a.suppressed_by)
            for a in items
        ]))

    def decode(self, body: bytes):
        return self.decoder.decode(body)


# -- attrs + cattrs ---------------------------------------------------------------------------------

_v = attrs.validators


@attrs.frozen
class _ADevice:
    id: str
    name: str
    host: str
    type: str | None
    vendor: str | None
    model: str | None
    tags: list[str]
    status: str | None
    reason: str | None
    last_seen: str | None
    metrics: dict
    port: int
    version: str
    poll_interval: float
    source: str


@attrs.frozen
class _AAlert:
    alert_id: str
    rule_id: str
    severity: str
    device_id: str
    interface: str | None
    metric: str
    message: str
    status: str
    value: float | None
    threshold: float | None
    created_at: str
    updated_at: str
    updated_by: str | None
    suppressed_by: str | None


@attrs.frozen
class _ANewDevice:
    id: str = attrs.field(validator=[_v.instance_of(str), _v.matches_re(DEVICE_ID.pattern)])
    host: str = attrs.field(validator=[_v.instance_of(str), _v.max_len(253), _v.matches_re(HOST_PATTERN)])
    port: int = attrs.field(default=161, validator=[_v.instance_of(int), _v.ge(1), _v.le(65535)])
    version: str = attrs.field(default="2c", validator=_v.in_(("1", "2c")))
    community: str = attrs.field(default="public", validator=_v.instance_of(str))
    poll_interval: float = attrs.field(default=60, validator=[_v.instance_of((int, float)), _v.ge(1), _v.le(86400)])
    tags: list[str] = attrs.field(factory=list, validator=_v.deep_iterable(_v.instance_of(str), _v.instance_of(list)))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _converter() -> cattrs.Converter:
    conv = make_converter(forbid_extra_keys=True)
    for cls in (_ADevice, _AAlert):
        renames = {a.name: override(rename=_camel(a.name)) for a in attrs.fields(cls) if "_" in a.name}
        conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, **renames))
    renames = {a.name: override(rename=_camel(a.name)) for a in attrs.fields(_ANewDevice) if "_" in a.name}
    conv.register_structure_hook(_ANewDevice, make_dict_structure_fn(_ANewDevice, conv, _cattrs_forbid_extra_keys=True, **renames))
    return conv


class Cattrs:
    conv = _converter()

    def encode_devices(self, items: list[Monitored]) -> bytes:
        views = [
            _ADevice(d.id, d.id, d.host, None, None, None, list(d.tags), m.live.status, m.live.reason, rfc3339(m.live.last_seen),
                     msgspec.to_builtins(_metrics_msgspec(m.live)), d.port, d.version, d.poll_interval, m.source)
            for m in items for d in (m.config,)
        ]
        return orjson.dumps({"devices": self.conv.unstructure(views)})

    def encode_alerts(self, items: list[Alert]) -> bytes:
        views = [
            _AAlert(a.id, a.rule_id, a.severity, a.device_id, a.interface, a.metric, a.message, a.status, a.value, a.threshold,
                    rfc3339(a.created_at), rfc3339(a.updated_at), a.updated_by, a.suppressed_by)
            for a in items
        ]
        return orjson.dumps({"alerts": self.conv.unstructure(views)})

    def decode(self, body: bytes):
        return self.conv.structure(orjson.loads(body), _ANewDevice)


# -- timing -----------------------------------------------------------------------------------------


def best(fn, repeat: int) -> float:
    """The least CPU seconds of `repeat` calls of fn."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000, help="devices and alerts in the list answers (1000)")
    parser.add_argument("--decodes", type=int, default=10_000, help="request bodies decoded per batch (10000)")
    parser.add_argument("--repeat", type=int, default=7, help="batches; the best counts (7)")
    args = parser.parse_args()

    devices, alert_rows = monitored(args.items), alerts(args.items)
    candidates = {"current": Current(), "msgspec": Msgspec(), "cattrs": Cattrs()}
    # Same JSON from each, so the timings compare the same work.
    reference = candidates["current"]
    for name, c in candidates.items():
        assert json.loads(c.encode_devices(devices)) == json.loads(reference.encode_devices(devices)), name
        assert json.loads(c.encode_alerts(alert_rows)) == json.loads(reference.encode_alerts(alert_rows)), name
        c.decode(NEW_DEVICE)

    figures = {}
    for name, c in candidates.items():
        decode_s = best(lambda c=c: [c.decode(NEW_DEVICE) for _ in range(args.decodes)], args.repeat)
        figures[name] = {
            "encode_devices_ms": round(best(lambda c=c: c.encode_devices(devices), args.repeat) * 1e3, 3),
            "encode_alerts_ms": round(best(lambda c=c: c.encode_alerts(alert_rows), args.repeat) * 1e3, 3),
            "decode_us": round(decode_s / args.decodes * 1e6, 3),
        }
    for name, f in figures.items():
        f["ratio_vs_current"] = {k: round(v / figures["current"][k], 3) for k, v in f.items() if k != "ratio_vs_current"}
    print(json.dumps({
        "bench": "rest_shapes", "items": args.items, "decodes": args.decodes, "repeat": args.repeat,
        "python": platform.python_version(), "msgspec": msgspec.__version__, "cattrs": _version("cattrs"),
        "figures": figures,
    }))


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
