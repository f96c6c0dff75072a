"""REST shapes micro-benchmark: how a declared shape costs in encoding and validating.

Two jobs a REST shape does on every request:

  encode   a typical list answer: GET /api/devices with --items devices (polled, with
           metrics) and GET /api/alerts with --items alerts, from the domain objects
           to the bytes of the body;
  decode   a typical request body: POST /api/devices's NewDevice, from bytes to a
           checked value (type, pattern, range, unknown fields), --decodes times.

Candidates, each doing the whole job:

  eyenet   the code of eyenet.web.rest as it is: msgspec Structs (alerts built from
           Alert.to_json by shapes.from_json), msgspec.json.encode; inputs.body;
  msgspec  the same Structs built straight from the domain objects' attributes;
  cattrs   attrs classes whose validators come from field declarations, cattrs'
           orjson converter (renames to camelCase) + orjson.dumps; orjson.loads +
           cattrs structure (forbid_extra_keys).

The code before msgspec (dicts built by the handlers + json.dumps; json.loads + the
hand-written JSON-schema check) is the `current` candidate of this script at commit
31f35c7; bench/README.md has its figures.

All candidates' bytes decode to the same JSON (checked before timing). The batch
with the least CPU time (time.process_time) of --repeat gives the figure, as
timeit takes the best. Prints one JSON line: microseconds per job and the ratio of
each candidate to `eyenet`. No network; needs cattrs installed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

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
from eyenet.web.http import Request  # noqa: E402
from eyenet.web.rest import inputs  # noqa: E402
from eyenet.web.rest.alerts import Alert as AlertShape  # noqa: E402
from eyenet.web.rest.alerts import AlertList  # noqa: E402
from eyenet.web.rest.devices import HOST_PATTERN, Bandwidth, Device, DeviceList, DeviceRoutes, NewDevice, Readings  # noqa: E402
from eyenet.web.rest.router import answer  # noqa: E402
from eyenet.web.rest.shapes import from_json  # noqa: E402

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


# -- eyenet: the REST code as it is -------------------------------------------------------------------


class Eyenet:
    def __init__(self) -> None:
        self.devices = DeviceRoutes(services=_Services())

    def encode_devices(self, items: list[Monitored]) -> bytes:
        return answer(DeviceList([self.devices._view(m) for m in items])).body

    def encode_alerts(self, items: list[Alert]) -> bytes:
        return answer(AlertList([from_json(AlertShape, a.to_json(None)) for a in items])).body

    def decode(self, body: bytes):
        request = Request("POST", "/api/devices", "/api/devices", {}, (("content-type", "application/json"),), body, None)
        return inputs.body(request, NewDevice)


@attrs.frozen
class _Services:
    tz: None = None


# -- msgspec ----------------------------------------------------------------------------------------


def _metrics_msgspec(live: LiveState) -> Readings:
    m = live.metrics
    if m is None:
        return Readings(None, None, Bandwidth(None, None), live.uptime)
    return Readings(
        None if m.cpu is None else round(m.cpu, 1), None if m.memory is None else round(m.memory, 1),
        Bandwidth(None if m.bandwidth_in is None else round(m.bandwidth_in),
                   None if m.bandwidth_out is None else round(m.bandwidth_out)),
        live.uptime,
    )


class Msgspec:
    decoder = msgspec.json.Decoder(NewDevice)
    encoder = msgspec.json.Encoder()

    def encode_devices(self, items: list[Monitored]) -> bytes:
        return self.encoder.encode(DeviceList([
            Device(d.id, d.id, d.host, None, None, None, list(d.tags), m.live.status, m.live.reason,
                    rfc3339(m.live.last_seen), _metrics_msgspec(m.live), d.port, d.version, d.poll_interval, m.source)
            for m in items for d in (m.config,)
        ]))

    def encode_alerts(self, items: list[Alert]) -> bytes:
        return self.encoder.encode(AlertList([
            AlertShape(a.id, a.rule_id, a.severity, a.device_id, a.interface, a.metric, a.message, a.status, a.value, a.threshold,
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
    candidates = {"eyenet": Eyenet(), "msgspec": Msgspec(), "cattrs": Cattrs()}
    # Same JSON from each, so the timings compare the same work.
    reference = candidates["eyenet"]
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
        f["ratio_vs_eyenet"] = {k: round(v / figures["eyenet"][k], 3) for k, v in f.items() if k != "ratio_vs_eyenet"}
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
