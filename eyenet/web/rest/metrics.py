"""GET /metrics: the devices' live state and EyeNet's own counters for Prometheus, in the
text exposition format, version 0.0.4.

The text is made while it is written (Response.chunks), CHUNK lines at a time. A fleet's
scrape is large (1,000 devices of 50 interfaces: 250,000 lines, 25 MB): built whole, with
its lines, label dicts and samples as objects, it held the event loop for about a second
and made and freed ~40 MiB of small objects at every scrape, and each such burst left the
allocator's arenas more fragmented (RSS rose ~2 MiB a scrape for the first half hour while
live memory stayed flat). Now a scrape holds one chunk, and others are served between chunks."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated

import attrs
import trio
from msgspec import Meta

from eyenet import __version__
from eyenet.devices.inventory import Monitored
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router
from eyenet.web.rest.services import Services

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"
Prometheus = Annotated[str, Meta(description="the Prometheus text exposition format, version 0.0.4")]


@attrs.frozen
class MetricsRoutes:
    services: Services
    needs_token: bool  # False serves /metrics to anyone who can reach the port

    def register(self, router: Router) -> None:
        router.add("GET", "/metrics", self.metrics, Operation(
            "Device and EyeNet metrics for Prometheus", "health", "viewer" if self.needs_token else None,
            Prometheus, media_type=PROMETHEUS,
        ))

    async def metrics(self, call: Call) -> Response:
        scope = call.claims.scope if call.claims is not None else ()
        devices = [m for m in self.services.inventory.devices() if self.services.access.tags(scope, m.config.tags)]
        lines = device_metrics(devices)
        if not scope:  # counts of all devices and requests are not for a scoped user
            lines = itertools.chain(lines, self._self_metrics())
        return Response(200, (("content-type", PROMETHEUS),), chunks=encoded(lines))

    def _self_metrics(self) -> Iterator[str]:
        counters = self.services.counters
        yield from family("eyenet_build_info", "gauge", "EyeNet's version", [({"version": __version__}, 1)])
        yield from family("eyenet_process_start_time_seconds", "gauge", "when EyeNet started (Unix time)",
                          [({}, counters.started_at)])
        sources = Counter(m.source for m in self.services.inventory.devices())
        yield from family("eyenet_devices", "gauge", "monitored devices by where they were defined",
                          [({"source": s}, sources[s]) for s in ("config", "api")])
        yield from family("eyenet_http_requests_total", "counter", "REST requests answered",
                          [({"method": m, "route": r, "code": str(c)}, n) for (m, r, c), n in sorted(counters.requests.items())])
        yield from family("eyenet_failed_logins_total", "counter", "logins refused for wrong credentials",
                          [({}, counters.failed_logins)])
        yield from family("eyenet_store_dropped_samples_total", "counter",
                          "metric samples dropped because the database fell behind", [({}, self.services.store.dropped_samples)])
        yield from family("eyenet_tasks", "gauge", "Trio tasks alive (one that only grows is a leak)", [({}, live_tasks())])


def live_tasks() -> int:
    """The tasks of this Trio run, counted down from its root."""
    root = trio.lowlevel.current_root_task()
    tasks = [root] if root is not None else []
    count = 0
    while tasks:
        task = tasks.pop()
        count += 1
        tasks += (child for nursery in task.child_nurseries for child in nursery.child_tasks)
    return count


CHUNK = 1000  # lines encoded and written at a time


def family(name: str, kind: str, help: str, samples: Iterable[tuple[Mapping[str, str], float | int | None]]) -> Iterator[str]:
    """A family's lines: HELP and TYPE, then a line per sample; none when it has no sample
    (None values are left out)."""
    head = (f"# HELP {name} {help}", f"# TYPE {name} {kind}")
    for labels, value in samples:
        if value is None:
            continue
        if head:
            yield from head
            head = ()
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        yield f"{name}{{{label_text}}} {value!r}" if label_text else f"{name} {value!r}"


def encoded(lines: Iterable[str]) -> Iterator[bytes]:
    """The text of `lines` (each ended by a newline), CHUNK lines at a time."""
    lines = iter(lines)
    while chunk := list(itertools.islice(lines, CHUNK)):
        yield ("\n".join(chunk) + "\n").encode("utf-8")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def device_metrics(devices: list[Monitored]) -> Iterator[str]:
    """The live state of `devices`, as last polled (each device as it is when its lines are made)."""
    statuses = ("up", "down", "degraded")
    known = [m for m in devices if m.live.status is not None]
    polled = [(m, m.live.metrics) for m in devices if m.live.metrics is not None]
    yield from family("eyenet_device_up", "gauge", "1 if the device answered its last poll (up or degraded), 0 if not",
                      (({"device": m.id}, int(m.live.status != "down")) for m in known))
    yield from family("eyenet_device_status", "gauge", "1 for the device's current status",
                      (({"device": m.id, "status": s}, int(m.live.status == s)) for m in known for s in statuses))
    yield from family("eyenet_device_cpu_percent", "gauge", "CPU use", (({"device": m.id}, x.cpu) for m, x in polled))
    yield from family("eyenet_device_memory_percent", "gauge", "memory use", (({"device": m.id}, x.memory) for m, x in polled))
    yield from family("eyenet_device_bandwidth_bits_per_second", "gauge", "traffic summed over the up, non-loopback interfaces",
                      (({"device": m.id, "direction": d}, v) for m, x in polled
                       for d, v in (("in", x.bandwidth_in), ("out", x.bandwidth_out))))
    yield from family("eyenet_device_uptime_seconds", "gauge", "time since the device's SNMP agent started",
                      (({"device": m.id}, m.live.uptime) for m in devices))
    yield from family("eyenet_device_last_seen_timestamp_seconds", "gauge", "when the device last answered (Unix time)",
                      (({"device": m.id}, m.live.last_seen.timestamp() if m.live.last_seen else None) for m in devices))

    def interfaces():  # walked once for each family, not held: a fleet has tens of thousands
        return ((m, itf) for m, x in polled for itf in x.interfaces)

    def labels(m: Monitored, itf, **more: str) -> dict[str, str]:
        return {"device": m.id, "ifindex": str(itf.if_index), "name": itf.name, **more}

    yield from family("eyenet_interface_up", "gauge", "1 if the interface's operational status is up",
                      ((labels(m, itf), int(itf.status == "up")) for m, itf in interfaces()))
    yield from family("eyenet_interface_bits_per_second", "gauge", "interface traffic",
                      ((labels(m, itf, direction=d), v) for m, itf in interfaces() for d, v in (("in", itf.bps_in), ("out", itf.bps_out))))
    yield from family("eyenet_interface_errors_per_second", "gauge", "interface errors",
                      ((labels(m, itf, direction=d), v) for m, itf in interfaces()
                       for d, v in (("in", itf.errors_in), ("out", itf.errors_out))))
