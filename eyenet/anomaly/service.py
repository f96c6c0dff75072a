"""Anomaly jobs: the Trio edge around eyenet.anomaly.detect, behind POST /api/ml/jobs and ml:prediction.

A job is stored as soon as it is submitted (queued), run by a small pool of
workers (history read from the store, detection in a worker thread: it is CPU
work), stored again with its outcome, and announced as ml:prediction (completed
or failed). Jobs still queued or running when EyeNet stopped are run again at
the next start, so an accepted job is never lost.

Scheduled scans ([anomaly] scan_interval) judge every device's main metrics the same
way, and keep and announce only what is found at or above [anomaly] min_confidence, as
jobs whose id starts with ``scan-``. Jobs judge in one thread at a time; scans, thousands of
series at once, in a child process at the lowest CPU priority (eyenet.anomaly.scanner), so
that neither they nor their reads hold the GIL that the event loop polls and pushes with.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

import attrs
import trio

from eyenet.anomaly.detect import Finding, NotEnoughData
from eyenet.anomaly.model import JobStatus, MlJob
from eyenet.anomaly.scanner import BATCH, Scanner
from eyenet.anomaly.window import Plan, history_step, judge, plan
from eyenet.bus import Bus
from eyenet.collect.history import HistoryPoint
from eyenet.config import AnomalySettings
from eyenet.events import MlPrediction, Prediction
from eyenet.health import Checks, Health
from eyenet.store.db import Store

log = logging.getLogger("eyenet.ml")

WORKERS = 2
STATUS_METRIC = re.compile(r"^if\.([0-9]+)\.status$")  # an interface's ifOperStatus, from its stored changes
QUEUE = 1000  # jobs waiting; beyond, submit() refuses (QueueFull)


class QueueFull(Exception):
    pass


class MlService:
    def __init__(
        self, store: Store, bus: Bus, *, clock: Callable[[], float] = time.time, settings: AnomalySettings = AnomalySettings(),
        devices: Callable[[], Iterable[tuple[str, float]]] = tuple,
    ) -> None:
        """devices: the monitored devices to scan, with their poll intervals."""
        self.store = store
        self.bus = bus
        self.clock = clock
        self.settings = settings
        self.devices = devices
        # Jobs' detection in one thread at a time: never more than a core from polls and push.
        self._limiter = trio.CapacityLimiter(1)
        self._send, self._receive = trio.open_memory_channel[MlJob](QUEUE)
        self._interrupted: list[MlJob] = []
        self._running = False
        self._said_priority = False  # the warning that scans keep normal priority: once a process

    async def load(self) -> None:
        """What a stop interrupted, to run again first."""
        self._interrupted = [attrs.evolve(job, status=JobStatus.QUEUED) for job in await self.store.unfinished_ml_jobs()]

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(WORKERS):
                nursery.start_soon(self._worker)
            if self.settings.scan_interval:
                nursery.start_soon(self._scan_loop)
            self._running = True
            task_status.started()
            for job in self._interrupted:
                await self._send.send(job)
            self._interrupted = []

    def health(self) -> Health:
        queued = self._send.statistics().current_buffer_used
        checks = Checks({"queued": queued, "queueCapacity": QUEUE})
        if not self._running:
            checks.down("the anomaly workers are not running")
        if queued * 10 >= QUEUE * 9:
            checks.degraded(f"{queued} jobs waiting (of {QUEUE}): new ones are about to be refused")
        return checks.health()

    async def submit(self, device_id: str, metric: str, start: int, end: int, baseline: int, created_by: str | None) -> MlJob:
        now = self.clock()
        job = MlJob(
            id=f"job-{secrets.token_hex(8)}", device_id=device_id, metric=metric, start=start, end=end,
            baseline=baseline, status=JobStatus.QUEUED, created_by=created_by, created_at=now, updated_at=now,
        )
        try:
            self._send.send_nowait(job)
        except trio.WouldBlock:
            raise QueueFull(f"{QUEUE} jobs are waiting already: try again later") from None
        await self.store.put_ml_job(job)  # before anyone can ask for it
        return job

    async def plan(self, device_id: str, metric: str, now: int, interval: float) -> Plan:
        """The window and baseline for a job that names neither (eyenet.anomaly.window)."""
        status = STATUS_METRIC.match(metric)
        if status is not None:
            return plan(await self.store.status_start(device_id, int(status[1])), now, interval)
        return plan(await self.store.history_start(device_id, metric), now, interval)

    async def _history(self, device_id: str, metric: str, start: int, end: int, step: int) -> list[HistoryPoint]:
        """A metric's points in [start, end) at the store's resolution; an interface's status as a
        point per poll interval and one at each stored change (status_points)."""
        status = STATUS_METRIC.match(metric)
        if status is None:
            return await self.store.history(device_id, metric, start, end, step)
        interval = dict(self.devices()).get(device_id, DEFAULT_INTERVAL)
        return status_points(await self.store.status_changes(device_id, int(status[1]), start, end), start, end, interval)

    async def _worker(self) -> None:
        async for job in self._receive:
            try:
                await self._run_job(job)
            except Exception:  # a bug or the disk: this job fails, the worker goes on
                log.exception("ml job %s failed", job.id)
                await self._finish(job, JobStatus.FAILED, (), "internal error (logged on the server)")

    async def _run_job(self, job: MlJob) -> None:
        await self.store.put_ml_job(attrs.evolve(job, status=JobStatus.RUNNING, updated_at=self.clock()))
        try:
            findings = await self._judge(job)
        except NotEnoughData as exc:
            await self._finish(job, JobStatus.FAILED, (), f"not enough history of {job.metric}: {exc}")
            return
        await self._finish(job, JobStatus.COMPLETED, tuple((f.label, f.confidence) for f in findings), None)

    async def _judge(self, job: MlJob) -> list[Finding]:
        """The job's findings: its history read from the store, judged in a worker thread (CPU
        work, one thread at a time for all jobs). NotEnoughData says what is missing."""
        step = history_step(job.end - job.start + job.baseline)
        window = await self._history(job.device_id, job.metric, job.start, job.end, step)
        base = await self._history(job.device_id, job.metric, job.start - job.baseline, job.start, step) if job.baseline else []
        return await trio.to_thread.run_sync(
            functools.partial(judge, job.metric, Plan(job.start, job.end, job.baseline), window, base), limiter=self._limiter,
        )

    async def _scan_loop(self) -> None:
        while True:
            await trio.sleep(self.settings.scan_interval)  # the first after one interval: history first
            try:
                await self.scan()
            except Exception:  # the child would not start or died: the next scan tries again
                log.exception("anomaly scan failed")

    async def scan(self) -> int:
        """Judge every device's scan metrics as a job without from/to would (in a child process:
        eyenet.anomaly.scanner); keep and publish (ml:prediction) the findings at or above the
        minimum confidence. Returns how many were."""
        series = [(device_id, metric, interval) for device_id, interval in self.devices() for metric in self.settings.metrics]
        published = 0
        async with Scanner(self.store.path, self.settings.min_confidence) as scanner:
            if scanner.priority_refused is not None and not self._said_priority:
                self._said_priority = True
                log.warning("anomaly scans run at normal CPU priority (lowering it was refused: %s); "
                            "only [anomaly] scan_cpu_share keeps them from polls and push", scanner.priority_refused)
            for first in range(0, len(series), BATCH):
                now = int(self.clock())
                started = trio.current_time()
                found, failed = await scanner.judge(now, series[first : first + BATCH])
                busy = trio.current_time() - started
                for device_id, metric, why in failed:  # a bug or the disk: this series is lost, the others go on
                    log.error("anomaly scan of %s %s failed: %s", device_id, metric, why)
                for f in found:
                    job = MlJob(
                        id=f"scan-{secrets.token_hex(8)}", device_id=f.device_id, metric=f.metric, start=f.start, end=f.end,
                        baseline=f.baseline, status=JobStatus.RUNNING, created_at=now, updated_at=now,
                    )
                    await self._finish(job, JobStatus.COMPLETED, f.results, None)
                    published += 1
                if first + BATCH < len(series):  # pace between batches, not after the last
                    await trio.sleep(busy * (1 / self.settings.scan_cpu_share - 1))
        return published

    async def _finish(self, job: MlJob, status: str, results: tuple, reason: str | None) -> None:
        done = attrs.evolve(job, status=status, results=results, reason=reason, updated_at=self.clock())
        with trio.CancelScope(shield=True):
            await self.store.put_ml_job(done)
        self.bus.publish(prediction(done))
        log.info("ml job %s (%s %s) %s: %s", job.id, job.device_id, job.metric, status,
                 reason or ", ".join(f"{label} {conf:.2f}" for label, conf in results))


DEFAULT_INTERVAL = 60.0  # seconds between polls of a device no longer monitored


def status_points(changes: list[tuple[int, int]], start: int, end: int, interval: float) -> list[HistoryPoint]:
    """A status series in [start, end) from its stored changes (ts, status; the first may be the
    status before start): a point every poll interval from the first known status, as if every
    poll had been stored, and one at each change, so that no change is merged with the next."""
    if not changes:
        return []
    first = max(start, changes[0][0])
    step = max(1.0, interval)
    times = sorted({*(int(first + k * step) for k in range(int((end - 1 - first) // step) + 1)),
                    *(ts for ts, _ in changes if ts >= first)})
    points, k, status = [], 0, changes[0][1]
    for t in times:
        while k < len(changes) and changes[k][0] <= t:
            status = changes[k][1]
            k += 1
        points.append(HistoryPoint(t, float(status), float(status), float(status)))
    return points


def when(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, timezone.utc)


def prediction(job: MlJob) -> MlPrediction:
    """The seed's ml:prediction for a finished job."""
    return MlPrediction(
        job_id=job.id, status=job.status, results=[Prediction(label, conf) for label, conf in job.results],
        timestamp=when(job.updated_at), device_id=job.device_id, metric=job.metric,
        window_from=when(job.start), window_to=when(job.end),
    )
