"""Anomaly jobs: start one on a device metric, read it and its results."""

from __future__ import annotations

import time
from typing import Annotated, Literal

import attrs
import msgspec
from msgspec import UNSET, Meta, UnsetType

from eyenet.anomaly.model import JobStatus
from eyenet.anomaly.model import MlJob as Job
from eyenet.anomaly.service import QueueFull
from eyenet.devices.model import DEVICE_ID
from eyenet.web.http import Response
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import METRIC_PATTERN, Timestamp, exact
from eyenet.web.rest.times import HISTORY_SPAN, Moment, seconds

MAX_ML_WINDOW = 31 * 86400
# The metrics history holds, and the status of an interface (its changes, stored apart).
MlMetric = Annotated[str, Meta(
    pattern=exact(METRIC_PATTERN[:-2] + r"|if\.[0-9]{1,10}\.status)$"),
    description="cpu, memory, uptime, bandwidth.in, bandwidth.out, or one interface's if.<ifIndex>.in / .out / .status",
)]


class NewMlJob(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    device_id: Annotated[str, Meta(pattern=exact(DEVICE_ID))]
    metric: MlMetric
    from_: Annotated[Moment, Meta(
        description="Unix seconds or RFC 3339; default: an hour before `to`, or with no `to` either, from the history there is",
    )] | UnsetType = (
        msgspec.field(name="from", default=UNSET)
    )
    to: Annotated[Moment, Meta(description="Unix seconds or RFC 3339; default: now")] | UnsetType = UNSET
    baseline: Annotated[int, Meta(
        ge=600, le=90 * 86400,
        description="seconds of history before the window to judge it against; default 7 windows, at most 7 days "
        "(without from and to: everything before the window)",
    )] | UnsetType = UNSET


class Finding(msgspec.Struct):
    label: str
    confidence: Annotated[float, Meta(ge=0, le=1)]


class Span(msgspec.Struct):
    from_: Timestamp = msgspec.field(name="from")
    to: Timestamp


class MlJob(msgspec.Struct, rename="camel"):
    job_id: str
    status: Literal[tuple(s.value for s in JobStatus)]
    results: Annotated[list[Finding], Meta(
        description="findings, most confident first: spike, drop, level_shift, trend, memory_leak, flatline, flapping, "
        "or normal",
    )]
    reason: Annotated[str | None, Meta(description="why a job failed (not enough history, ...)")]
    device_id: str
    metric: str
    window: Span
    baseline: Annotated[int, Meta(description="seconds before the window it is judged against; 0: a short history judged as a whole")]
    created_at: Timestamp
    created_by: str | None


@attrs.frozen
class MlRoutes:
    services: Services

    def register(self, router: Router) -> None:
        router.add("POST", "/api/ml/jobs", self.add_job, Operation(
            "Look for anomalies in one device metric (ml:prediction when done)", "ml", "operator", MlJob, status=202,
            request=NewMlJob, errors=(404, 503),
            description="The window [from, to) is judged against the `baseline` seconds before it (default: 7 "
            "windows, at most 7 days) with robust statistics. Without from and to, both fit the stored history: "
            "its latest tenth (at least 3 polls, at most an hour) against everything before, or under an hour "
            "of history, all of it against itself. Labels: docs/anomaly.md.",
        ))
        router.add("GET", "/api/ml/jobs/{id}", self.job, Operation("An anomaly job and its results", "ml", "operator", MlJob))

    def _view(self, job: Job) -> MlJob:
        at = self.services.time
        return MlJob(
            job.id, job.status, [Finding(label, conf) for label, conf in job.results], job.reason, job.device_id, job.metric,
            Span(at(job.start), at(job.end)), job.baseline, at(int(job.created_at)), job.created_by,
        )

    async def add_job(self, call: Call) -> Response:
        body = call.body
        device = self.services.visible_device(call.claims, body.device_id)
        now = int(time.time())
        if body.to is UNSET and body.from_ is UNSET and body.baseline is UNSET:
            chosen = await self.services.ml.plan(device.id, body.metric, now, device.config.poll_interval)
            start, end, baseline = chosen.start, chosen.end, chosen.baseline
        else:
            end = now if body.to is UNSET else seconds(body.to, "to", "VALIDATION_FAILED")
            start = end - HISTORY_SPAN if body.from_ is UNSET else seconds(body.from_, "from", "VALIDATION_FAILED")
            if start >= end:
                raise ApiError("VALIDATION_FAILED", "from: must be before to")
            if end - start > MAX_ML_WINDOW:
                raise ApiError("VALIDATION_FAILED", f"to: the window is at most {MAX_ML_WINDOW // 86400} days")
            baseline = min(7 * (end - start), 7 * 86400) if body.baseline is UNSET else body.baseline
        try:
            job = await self.services.ml.submit(device.id, body.metric, start, end, baseline, call.claims.user_id)
        except QueueFull as exc:
            raise ApiError("UNAVAILABLE", str(exc)) from None
        return answer(self._view(job), 202, (("location", f"/api/ml/jobs/{job.id}"),))

    async def job(self, call: Call) -> Response:
        job = await self.services.store.ml_job(call.params["id"])
        if job is None or not self.services.access.device(call.claims.scope, job.device_id):
            raise ApiError("NOT_FOUND", f"no job {call.params['id']!r}")
        return answer(self._view(job))
