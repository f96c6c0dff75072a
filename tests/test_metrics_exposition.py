"""GET /metrics' text, built from a fleet's live state (unit tests: the devices are stand-ins
with the attributes the exposition reads; tests/test_rest.py scrapes a real server)."""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timezone
from types import SimpleNamespace as Fake

from eyenet.web.rest.metrics import CHUNK, device_metrics, encoded


def _device(n: int, interfaces: int, status: str | None = "up") -> Fake:
    ports = [Fake(if_index=i, name=f"ge-0/0/{i}", status="up" if i % 3 else "down", bps_in=1000.0 * i,
                  bps_out=None if i == 2 else 2.5 * i, errors_in=0.0, errors_out=0.1 * i) for i in range(1, interfaces + 1)]
    metrics = Fake(cpu=12.5, memory=None, bandwidth_in=1e6, bandwidth_out=2e6, interfaces=ports)
    seen = datetime(2026, 12, 7, tzinfo=timezone.utc)
    return Fake(id=f"dev-{n:04d}", live=Fake(status=status, metrics=metrics, uptime=3600.0, last_seen=seen))


def _scrape(devices: list[Fake]) -> bytes:
    return b"".join(encoded(device_metrics(devices)))


def test_exposition_lines():
    quoted = _device(1, 2)
    quoted.id = 'edge "1"\\a'
    text = _scrape([quoted, _device(2, 0, status=None)]).decode()
    lines = text.splitlines()
    assert text.endswith("\n")
    assert lines[:3] == [
        "# HELP eyenet_device_up 1 if the device answered its last poll (up or degraded), 0 if not",
        "# TYPE eyenet_device_up gauge",
        'eyenet_device_up{device="edge \\"1\\"\\\\a"} 1',
    ]
    assert 'eyenet_interface_bits_per_second{device="edge \\"1\\"\\\\a",ifindex="1",name="ge-0/0/1",direction="in"} 1000.0' in lines
    # No value, no line; a family without any sample has no HELP or TYPE either.
    assert not any("ifindex=\"2\"" in line and 'direction="out"' in line and "bits" in line for line in lines)
    assert "eyenet_device_memory_percent" not in text
    assert sum(line.startswith("eyenet_device_uptime_seconds{") for line in lines) == 2


def test_a_fleet_scrape_holds_a_chunk_at_a_time():
    """A scrape's text is made a chunk at a time as it is written: at its peak it holds a
    chunk's lines, their text and its encoding (~5 chunks), whatever the fleet's size; not
    the whole text, nor every line, label set and sample as objects (built whole, those
    were 3.4 times the text: a burst of small objects at every scrape)."""
    devices = [_device(n, 50) for n in range(300)]
    tracemalloc.start()
    try:
        sizes = [len(chunk) for chunk in encoded(device_metrics(devices))]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(sizes) > 60 and sum(sizes) > 60 * CHUNK * 50
    assert peak < 8 * max(sizes) and peak * 10 < sum(sizes), (peak, max(sizes), sum(sizes))
