"""An anomaly job as it is stored and served: one device metric's window, its baseline, its state and results."""

import enum

import attrs


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@attrs.frozen
class MlJob:
    """An anomaly job: the window [start, end) of one device metric, judged against the
    `baseline` seconds before it (Unix seconds)."""

    id: str
    device_id: str
    metric: str
    start: int
    end: int
    baseline: int
    status: JobStatus = attrs.field(converter=JobStatus)  # the store gives a str
    results: tuple[tuple[str, float], ...] = ()  # (label, confidence), most confident first
    reason: str | None = None
    created_by: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
