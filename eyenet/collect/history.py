"""Metric history as it is written and read back: one sample, one aggregated point.

The poller hands samples to a sink (the store in the app); the REST API reads points.
"""

from typing import NamedTuple

import attrs


class Sample(NamedTuple):
    """One metric value: a row of metrics_raw as it is. add_samples takes these or plain tuples
    in the same order (the poller makes ~100 a poll: plain tuples cost less to make)."""

    device_id: str
    metric: str
    ts: int  # Unix seconds
    value: float


@attrs.frozen
class HistoryPoint:
    ts: int
    avg: float
    min: float
    max: float
