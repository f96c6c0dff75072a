"""Anomaly jobs: start one on a device metric, read it and its results."""

from __future__ import annotations

import time
from typing import Any

import attrs

from eyenet.anomaly.model import MlJob
from eyenet.anomaly.service import QueueFull
from eyenet.auth.model import scope_allows
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import ApiError, Call, Router
from eyenet.web.rest.services import Services
from eyenet.web.rest.times import HISTORY_SPAN, unix

MAX_ML_WINDOW = 31 * 86400


@attrs.frozen
class MlRoutes:
    services: Services

    def register(self, router: Router) -> None:
        router.add("POST", "/api/ml/jobs", self.add_job, Operation(
            "Look for anomalies in one device metric (ml:prediction when done)", "ml", "operator", "MlJob", status=202,
            request="NewMlJob", errors=(404, 503),
            description="The window [from, to) (default: the last hour) is judged against the `baseline` seconds "
            "before it (default: 7 windows, at most 7 days) with robust statistics; labels: spike, drop, "
            "level_shift, flatline, normal (docs/anomaly.md).",
        ))
        router.add("GET", "/api/ml/jobs/{id}", self.job, Operation("An anomaly job and its results", "ml", "operator", "MlJob"))

    def _view(self, job: MlJob) -> dict[str, Any]:
        at = self.services.time
        return {
            "jobId": job.id, "status": job.status,
            "results": [{"label": label, "confidence": conf} for label, conf in job.results], "reason": job.reason,
            "deviceId": job.device_id, "metric": job.metric,
            "window": {"from": at(job.start), "to": at(job.end)}, "baseline": job.baseline,
            "createdAt": at(int(job.created_at)), "createdBy": job.created_by,
        }

    async def add_job(self, call: Call) -> Response:
        body = call.body
        device_id = self.services.visible_device(call.claims, body["deviceId"]).id
        now = int(time.time())
        end = unix(body["to"], "to", "VALIDATION_FAILED") if "to" in body else now
        start = unix(body["from"], "from", "VALIDATION_FAILED") if "from" in body else end - HISTORY_SPAN
        if start >= end:
            raise ApiError("VALIDATION_FAILED", "from: must be before to")
        if end - start > MAX_ML_WINDOW:
            raise ApiError("VALIDATION_FAILED", f"to: the window is at most {MAX_ML_WINDOW // 86400} days")
        baseline = body.get("baseline", min(7 * (end - start), 7 * 86400))
        try:
            job = await self.services.ml.submit(device_id, body["metric"], start, end, baseline, call.claims.user_id)
        except QueueFull as exc:
            raise ApiError("UNAVAILABLE", str(exc)) from None
        return Response.json(self._view(job), 202, (("location", f"/api/ml/jobs/{job.id}"),))

    async def job(self, call: Call) -> Response:
        job = await self.services.store.ml_job(call.params["id"])
        scope = call.claims.scope
        visible = job is not None and (not scope or (
            (tags := self.services.inventory.device_tags(job.device_id)) is not None and scope_allows(scope, tags)
        ))
        if not visible:
            raise ApiError("NOT_FOUND", f"no job {call.params['id']!r}")
        return Response.json(self._view(job))
