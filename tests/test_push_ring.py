"""The replay ring: bounded by count and by bytes, with each wire's memory counted as it grows."""

import gc
import tracemalloc
from datetime import datetime, timezone

from eyenet.events import DeviceMetrics, DeviceStatus, InterfaceMetrics, TopologyDevice, TopologyUpdate
from eyenet.web.push.plain_ws import envelope_frame
from eyenet.web.push.ring import ReplayRing
from eyenet.web.push.socketio import polling_event, websocket_event
from eyenet.web.push.wire import Wire, footprint

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)


def port_metrics(device: str, ports: int) -> DeviceMetrics:
    rows = tuple(
        InterfaceMetrics(
            if_index=k, name=f"{device} GigabitEthernet1/0/{k}", status="up", bps_in=1e6 + k, bps_out=2e6 + k,
            errors_in=0.0, errors_out=0.0, speed=1e9, admin_status="up", description=f"{device} Gi1/0/{k}",
            alias=f"{device} to rack {k}", if_type=6, mtu=1500, mac=f"00:11:22:33:{k // 256:02x}:{k % 256:02x}",
            changed_ago=float(k),
        )
        for k in range(ports)
    )
    return DeviceMetrics(device_id=device, timestamp=NOW, cpu=12.5, memory=40.0, bandwidth_in=1e8,
                         bandwidth_out=2e8, interfaces=rows, uptime=100)


def topology(devices: int) -> TopologyUpdate:
    ids = [f"switch-{k:05d}" for k in range(devices)]
    return TopologyUpdate(
        "link_change",
        tuple(TopologyDevice(i, "switch", tuple(ids[max(0, k - 2):k])) for k, i in enumerate(ids)),
        NOW,
    )


def traced(build, n=200) -> float:
    """Bytes of Python objects one built event holds, averaged over n."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [build(k) for k in range(n)]
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(kept) == n
    return (after - before) / n


def test_the_footprint_estimate_stays_within_a_factor_two_of_the_objects():
    for build in (lambda k: port_metrics(f"d{k}", 48), lambda k: port_metrics(f"d{k}", 4),
                  lambda k: topology(100), lambda k: DeviceStatus(f"d{k}", "up", NOW)):
        measured, estimate = traced(build), footprint(build(0))
        assert measured / 2 <= estimate <= measured * 2, (build(0).TYPE, measured, estimate)


def test_a_wire_counts_each_encoding_it_caches_and_tells_its_ring():
    ring = ReplayRing(max_events=10, max_bytes=10**9)
    wire = Wire(port_metrics("r1", 48), 1)
    bare = wire.nbytes
    ring.append(wire, 0.0)
    assert ring.nbytes == bare
    frames = [wire.encoded(fmt, detailed) for fmt in (envelope_frame, websocket_event) for detailed in (False, True)]
    wire.encoded(envelope_frame, True)  # cached: not counted twice
    held = len(wire.plain) + len(wire.detailed) + sum(map(len, frames)) + len(wire.encoded(polling_event, True)) \
        + len(wire.encoded(polling_event, False))
    assert wire.nbytes == bare + held and ring.nbytes == wire.nbytes


def test_the_ring_keeps_the_newest_events_within_both_bounds():
    by_count = ReplayRing(max_events=3, max_bytes=10**9)
    for k in range(1, 6):
        by_count.append(Wire(DeviceStatus("r1", "up", NOW), k), float(k))
    assert [w.id for w in by_count] == [3, 4, 5] and by_count.first_id == 3
    assert by_count.span(now=10.0) == 7.0  # back to the oldest kept event's time
    assert ReplayRing(max_events=3, max_bytes=10**9).span(now=10.0) == 0.0

    big = footprint(port_metrics("r1", 48))
    by_bytes = ReplayRing(max_events=1000, max_bytes=3 * big)
    wires = [Wire(port_metrics("r1", 48), k) for k in range(1, 11)]
    for wire in wires:
        by_bytes.append(wire, float(wire.id))
        assert by_bytes.nbytes <= by_bytes.max_bytes
    assert [w.id for w in by_bytes] == [8, 9, 10] and by_bytes.span(now=10.0) == 2.0
    assert by_bytes.nbytes == sum(w.nbytes for w in by_bytes)

    # Encodings of a kept wire count; the next event makes room; a wire that left counts no more.
    for wire in wires[-3:]:
        wire.encoded(websocket_event, True)
    assert by_bytes.nbytes > by_bytes.max_bytes
    by_bytes.append(Wire(DeviceStatus("r1", "down", NOW), 11), 11.0)
    assert by_bytes.nbytes <= by_bytes.max_bytes and by_bytes.first_id > 8
    assert by_bytes.span(now=11.0) == 11.0 - by_bytes.first_id
    gone = wires[0]
    assert gone.meter is None
    before = by_bytes.nbytes
    gone.encoded(websocket_event, True)
    assert by_bytes.nbytes == before


def test_an_event_larger_than_the_byte_bound_is_still_kept_alone():
    ring = ReplayRing(max_events=100, max_bytes=100)
    ring.append(Wire(DeviceStatus("r1", "up", NOW), 1), 0.0)
    ring.append(Wire(port_metrics("r1", 48), 2), 0.0)
    assert [w.id for w in ring] == [2]
