"""Metric history as it is written and read back: one sample, one aggregated point, and an
interface's status changes.

The poller hands samples and status changes to sinks (the store in the app); the REST API
and anomaly jobs read them back.
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


class StatusChange(NamedTuple):
    """An interface's ifOperStatus (its number: 1 up, 2 down, ... 7 lowerLayerDown) from a poll at
    which it differed from the one stored before (or was first seen since EyeNet started): the
    status history is its changes, a row per change rather than one per poll."""

    device_id: str
    if_index: int
    ts: int  # Unix seconds
    status: int


@attrs.frozen
class HistoryPoint:
    ts: int
    avg: float
    min: float
    max: float
