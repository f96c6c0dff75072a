"""Anomaly detection (sans-io) and the job service with a real store and bus."""

import math
import os
import random

import pytest
import trio

from eyenet.anomaly.detect import CALIBRATION, Finding, NotEnoughData, calibrated, confidence, detect
from eyenet.anomaly.scanner import ScanError, Scanner
from eyenet.anomaly.service import MlService, history_step, status_points
from eyenet.anomaly.window import Plan, plan
from eyenet.bus import Bus
from eyenet.collect.history import HistoryPoint, Sample, StatusChange
from eyenet.config import AnomalySettings
from eyenet.events import MlPrediction
from eyenet.store.db import Store

rng = random.Random(7)
BASELINE = [20 + rng.gauss(0, 2) for _ in range(120)]


def labels(findings):
    return [f.label for f in findings]


def test_a_quiet_window_is_normal_and_each_anomaly_has_its_label():
    assert labels(detect(BASELINE, [20 + rng.gauss(0, 2) for _ in range(12)])) == ["normal"]
    assert labels(detect(BASELINE, [20, 21, 19, 96, 20, 21])) == ["spike"]
    assert labels(detect(BASELINE, [20, 21, 1, 20, 19, 21])) == ["drop"]
    assert labels(detect(BASELINE, [41, 40, 42, 39, 41, 40])) == ["level_shift"]  # every point up, none alone
    assert labels(detect(BASELINE, [20.0] * 8)) == ["flatline"]  # stopped moving
    assert set(labels(detect(BASELINE, [40, 41, 95, 40, 39, 41]))) == {"level_shift", "spike"}


def test_slow_rises_are_trends_and_memory_that_keeps_growing_leaks():
    rise = [20 + 0.6 * n + rng.gauss(0, 1) for n in range(36)]
    assert labels(detect(BASELINE, rise))[0] == "trend"
    assert labels(detect(BASELINE, rise, metric="memory"))[0] == "memory_leak"
    assert "trend" not in labels(detect(BASELINE, [20.0 + rng.gauss(0, 2) for _ in range(18)] + [45.0 + rng.gauss(0, 2) for _ in range(18)]))


def test_a_drift_that_bends_is_a_trend_not_a_shift_with_drops():
    # Traffic growing by the same bit/s every poll from a night's low, in spreads from the
    # baseline in logarithms (as the detector sees it): fast at first, then slower. One step fits
    # it better than a line; its first points, below the step's level, are no drops.
    bending = [0.4, 2.0, 4.5, 6.5, 8.0, 9.4, 9.8, 10.3, 12.1, 13.0, 14.4, 15.2, 15.9, 16.1, 17.3, 18.0, 18.4, 18.3,
               19.4, 18.7, 19.8, 19.5, 19.3, 19.9, 19.8, 20.6, 20.6, 20.6, 20.5, 21.4, 21.1, 21.7, 21.5, 21.1, 21.1, 22.0]
    assert labels(detect(BASELINE, [20 + 2 * z for z in bending])) == ["trend"]


def test_a_stuck_value_in_the_window_is_a_flatline():
    assert labels(detect(BASELINE, [20 + rng.gauss(0, 2) for _ in range(10)] + [21.5] * 12)) == ["flatline"]


def test_the_time_of_day_is_compared_once_a_day_of_history_exists():
    day = 86400
    def traffic(t):  # busy by day, quiet by night
        return 100 + 900 * (t % day > day / 3) + rng.gauss(0, 10)
    times = list(range(0, 3 * day, 300))
    window_times = list(range(3 * day, 3 * day + 3 * 3600, 300))
    morning = [t + day // 3 - 3600 for t in window_times]  # from the night into the day
    base = [traffic(t) for t in times]
    assert labels(detect(base, [traffic(t) for t in morning], times=(times, morning))) == ["normal"]
    doubled = [2 * traffic(t) for t in morning]
    assert labels(detect(base, doubled, times=(times, morning)))[0] == "level_shift"


def test_a_status_that_keeps_changing_is_flapping():
    times = list(range(0, 86400, 300))
    base = [1.0] * len(times)
    base[100:102] = [2.0, 2.0]  # one outage a day
    window_times = list(range(86400, 86400 + 3600, 300))
    calm = [1.0] * 12
    flapping = [1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 1.0]
    assert labels(detect(base, calm, times=(times, window_times), metric="if.3.status")) == ["normal"]
    assert labels(detect(base, [1.0] * 5 + [2.0, 2.0] + [1.0] * 5, times=(times, window_times), metric="if.3.status")) == ["normal"]
    assert labels(detect(base, flapping, times=(times, window_times), metric="if.3.status")) == ["flapping"]


def test_a_link_that_goes_down_on_a_timetable_is_not_flapping():
    """Down for 20 minutes every hour, for 3 days: its changes in the window are its timetable's;
    changes between them are not."""
    def scheduled(t):
        return 2.0 if t % 3600 < 1200 else 1.0

    times = list(range(0, 3 * 86400, 300))
    window_times = list(range(3 * 86400, 3 * 86400 + 3 * 3600, 300))
    window = [scheduled(t) for t in window_times]
    assert sum(a != b for a, b in zip(window, window[1:])) >= 4  # as many as a flap needs
    assert labels(detect([scheduled(t) for t in times], window, times=(times, window_times), metric="if.3.status")) == ["normal"]
    flapped = list(window)
    for i in (6, 8, 18, 20):  # down for a poll, four times, between its scheduled downs
        flapped[i] = 2.0
    assert labels(detect([scheduled(t) for t in times], flapped, times=(times, window_times), metric="if.3.status")) == ["flapping"]


def wandering_cpu(n, phase):
    """A CPU in whole percent, a point a poll: a wave slower than a short history and a faster one."""
    return [float(round(22 + 8 * math.sin(2 * math.pi * k / 18 + phase) + 5 * math.sin(2 * math.pi * k / 3.7 + 2 * phase)))
            for k in range(n)]


def test_a_short_history_judges_its_points_from_the_rest_of_an_excursion():
    # A spike filling a third of the history lifts the median to the top of the other points and
    # its flat top adds steps of 0 to the noise: the troughs of the rest's own wave are no drops.
    for phase in [i / 10 for i in range(63)]:
        for n in (14, 16, 18, 20):
            quiet = wandering_cpu(n, phase)
            spiked = quiet[:4] + [95.0] * 6 + quiet[10:]
            assert labels(detect(spiked, spiked, itself=True)) == ["spike"], spiked
            assert labels(detect(quiet, quiet, itself=True)) == ["normal"], quiet


def test_findings_come_most_confident_first_with_confidence_growing_with_distance():
    findings = detect(BASELINE, [5.0] * 10)
    assert findings == sorted(findings, key=lambda f: -f.confidence)
    assert confidence(3.5, 3.5) == 0.5 and confidence(7, 3.5) == 0.8 and confidence(-10.5, 3.5) == 0.9
    assert detect(BASELINE, [20, 21, 19, 37, 20])[0].confidence < detect(BASELINE, [20, 21, 19, 42, 20])[0].confidence
    assert calibrated("spike", CALIBRATION["spike"][0]) == 0.5  # the strength at which half were real
    assert all(0 < f.confidence < 1 for f in findings)


def test_constant_baselines_and_zero_series():
    assert detect([0.0] * 30, [0.0] * 5) == [Finding("normal", 0.999)]  # errors stay at zero: nothing to say
    assert labels(detect([0.0] * 30, [0, 0, 40, 0])) == ["spike"]
    assert labels(detect([50.0] * 30, [50, 50, 56, 50])) == ["spike"]  # 12 % off a level that never moved


def test_too_little_data_says_how_much():
    with pytest.raises(NotEnoughData, match="baseline has 4 points; at least 10"):
        detect([1, 2, 3, 4], [1, 2, 3])
    with pytest.raises(NotEnoughData, match="window has 2 points"):
        detect(BASELINE, [1, 2])
    with pytest.raises(ValueError, match="finite"):
        detect(BASELINE, [1, float("nan"), 3])


def test_history_step_follows_the_store_resolution():
    assert (history_step(3600), history_step(7 * 3600), history_step(10 * 86400)) == (0, 300, 3600)


async def test_jobs_run_store_their_outcome_and_publish_ml_prediction(tmp_path):
    bus = Bus()
    end = 1_800_000_000
    async with Store.open(tmp_path / "db", prune_every=None) as store:
        samples = [Sample("r1", "cpu", end - 4 * 3600 + 60 * n, v) for n, v in enumerate(BASELINE + BASELINE[:60])]
        samples += [Sample("r1", "cpu", end - 3600 + 60 * n, 95.0 if n == 30 else 20.0 + (n % 3)) for n in range(60)]
        store.add_samples(samples)
        await store.flush()
        ml = MlService(store, bus, clock=lambda: float(end + 5))
        with bus.subscribe(types=(MlPrediction,)) as seen:
            async with trio.open_nursery() as nursery:
                await nursery.start(ml.run)
                job = await ml.submit("r1", "cpu", end - 3600, end, 3 * 3600, "u-op")
                short = await ml.submit("r1", "memory", end - 3600, end, 3 * 3600, "u-op")
                with trio.fail_after(10):
                    done = [await seen.receive(), await seen.receive()]
                nursery.cancel_scope.cancel()
        by_id = {p.job_id: p for p in done}
        spike = by_id[job.id].data()
        assert spike["status"] == "completed" and spike["results"][0]["label"] == "spike"
        assert spike["deviceId"] == "r1" and spike["metric"] == "cpu" and set(spike["window"]) == {"from", "to"}
        assert by_id[short.id].data()["status"] == "failed" and by_id[short.id].data()["results"] == []
        stored = await store.ml_job(short.id)
        assert stored.status == "failed" and "not enough history of memory" in stored.reason
        assert (await store.ml_job(job.id)).results[0][0] == "spike"


async def test_jobs_interrupted_by_a_stop_run_at_the_next_start(tmp_path):
    bus = Bus()
    async with Store.open(tmp_path / "db", prune_every=None) as store:
        ml = MlService(store, bus)
        await ml.submit("r1", "cpu", 1_800_000_000, 1_800_003_600, 3600, None)  # no worker: stays queued
    async with Store.open(tmp_path / "db", prune_every=None) as store:
        ml = MlService(store, bus)
        await ml.load()
        with bus.subscribe(types=(MlPrediction,)) as seen:
            async with trio.open_nursery() as nursery:
                await nursery.start(ml.run)
                with trio.fail_after(10):
                    outcome = await seen.receive()
                nursery.cancel_scope.cancel()
        assert outcome.status == "failed"  # it ran (and found no history)
        assert not await store.unfinished_ml_jobs()


def test_without_a_window_the_history_there_is_decides():
    now = 1_800_000_000
    assert plan(None, now, 10) == Plan(now - 9, now + 1, 0)  # nothing yet: a poll's worth, failing with a wait
    assert plan(now - 150, now, 10) == Plan(now - 150, now + 1, 0)  # under an hour: all of it, against itself
    assert plan(now - 3 * 3600, now, 10) == Plan(now + 1 - 1080, now + 1, 3 * 3600 - 1079)  # the latest tenth
    assert plan(now - 30 * 86400, now, 60).end - plan(now - 30 * 86400, now, 60).start == 3600  # at most an hour
    assert plan(now - 30 * 86400, now, 60).baseline == 7 * 86400
    assert plan(now - 4000, now, 300).end - plan(now - 4000, now, 300).start == 900  # at least 3 polls


async def test_a_short_history_is_judged_as_a_whole_and_too_short_says_how_long_to_wait(tmp_path):
    bus = Bus()
    now = 1_800_000_000
    async with Store.open(tmp_path / "db", prune_every=None) as store:
        # The demo's first 150 s: a poll every 10 s, the CPU at 95 % from 40 to 100 s.
        store.add_samples([Sample("r1", "cpu", now - 150 + 10 * n, 95.0 if 4 <= n <= 10 else 12.0 + n % 3) for n in range(16)])
        store.add_samples([Sample("r1", "memory", now - 30 + 10 * n, 40.0) for n in range(4)])
        await store.flush()
        ml = MlService(store, bus, clock=lambda: float(now + 1))
        with bus.subscribe(types=(MlPrediction,)) as seen:
            async with trio.open_nursery() as nursery:
                await nursery.start(ml.run)
                cpu, memory = [await ml.plan("r1", m, now, 10) for m in ("cpu", "memory")]
                assert cpu.baseline == 0 and cpu.start == now - 150
                first = await ml.submit("r1", "cpu", cpu.start, cpu.end, cpu.baseline, None)
                await ml.submit("r1", "memory", memory.start, memory.end, memory.baseline, None)
                with trio.fail_after(10):
                    done = {p.metric: p for p in (await seen.receive(), await seen.receive())}
                nursery.cancel_scope.cancel()
        assert done["cpu"].job_id == first.id and done["cpu"].results[0].label == "spike"
        failed = await store.ml_job(done["memory"].job_id)
        assert failed.status == "failed"
        assert "4 points stored, at least 10 are needed; try again in about 60 s (6 more polls, one every 10 s)" in failed.reason


async def test_a_scan_publishes_only_findings_above_the_minimum_confidence(tmp_path):
    bus = Bus()
    now = 1_800_000_000
    async with Store.open(tmp_path / "db", prune_every=None) as store:
        start = now - 2 * 3600
        for device in ("hot", "quiet"):
            store.add_samples([Sample(device, "cpu", start + 60 * n, 20.0 + rng.gauss(0, 1)) for n in range(108)])
            # The latest tenth of two hours: 12 minutes, hot at 90 % for three polls of them.
            store.add_samples([Sample(device, "cpu", start + 60 * n, 90.0 if device == "hot" and n in (113, 114, 115)
                                      else 20.0 + rng.gauss(0, 1)) for n in range(108, 120)])
        await store.flush()
        settings = AnomalySettings(scan_interval=3600, metrics=("cpu", "memory"), min_confidence=0.8)
        ml = MlService(store, bus, clock=lambda: float(now), settings=settings, devices=lambda: [("hot", 60.0), ("quiet", 60.0)])
        with bus.subscribe(types=(MlPrediction,)) as seen:
            assert await ml.scan() == 1  # memory: no history, nothing said
            found = seen.receive_nowait()
            with pytest.raises(trio.WouldBlock):
                seen.receive_nowait()
        assert (found.device_id, found.metric, found.status) == ("hot", "cpu", "completed") and found.job_id.startswith("scan-")
        assert found.results[0].label == "spike" and found.results[0].confidence >= 0.8
        assert (await store.ml_job(found.job_id)).results[0][0] == "spike"


async def test_a_scan_judges_in_a_child_process_at_the_lowest_priority(tmp_path):
    now = 1_800_000_000
    async with Store.open(tmp_path / "db", prune_every=None) as store:
        store.add_samples([Sample("hot", "cpu", now - 7200 + 60 * n, 90.0 if n in (113, 114) else 20.0 + rng.gauss(0, 1))
                           for n in range(120)])
        await store.flush()
        async with Scanner(store.path, 0.8) as scanner:
            assert os.getpriority(os.PRIO_PROCESS, scanner.pid) == 19
            assert os.sched_getscheduler(scanner.pid) == os.SCHED_IDLE and scanner.priority_refused is None
            found, failed = await scanner.judge(now, [("hot", "cpu", 60.0), ("hot", "memory", 60.0), ("none", "cpu", 60.0)])
        assert scanner.returncode == 0  # its input closed: it exits
    assert [(f.device_id, f.metric, f.results[0][0]) for f in found] == [("hot", "cpu", "spike")] and failed == []


async def test_a_scan_whose_process_dies_fails_with_a_clear_error_and_the_next_one_tries_again(tmp_path, caplog):
    (tmp_path / "db").mkdir()  # not a database: the child cannot open it
    async with Scanner(str(tmp_path / "db"), 0.8) as scanner:
        with pytest.raises(ScanError, match="the scan process exited"):
            await scanner.judge(1_800_000_000, [("a", "cpu", 60.0)])
    async with Store.open(tmp_path / "store", prune_every=None) as store:
        store.path = str(tmp_path / "db")  # the scans' child reads a path it cannot open
        ml = MlService(store, Bus(), settings=AnomalySettings(scan_interval=0.05), devices=lambda: [("a", 60.0)])
        async with trio.open_nursery() as nursery:
            await nursery.start(ml.run)
            with trio.fail_after(20):
                while sum("anomaly scan failed" in r.getMessage() for r in caplog.records) < 2:
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()


def test_a_status_series_has_a_point_per_poll_and_one_at_each_change():
    points = status_points([(50, 1), (125, 2), (130, 1)], 100, 200, 30)
    assert [(p.ts, p.avg) for p in points] == [(100, 1), (125, 2), (130, 1), (160, 1), (190, 1)]
    assert points[0] == HistoryPoint(100, 1.0, 1.0, 1.0)
    assert [p.ts for p in status_points([(150, 2)], 100, 200, 30)] == [150, 180]  # from the first status known
    assert status_points([], 100, 200, 30) == []


async def test_a_job_on_an_interface_status_reads_its_stored_changes(tmp_path):
    """A day of a port that went down twice, then an hour in which it flapped; its neighbour
    went down once in that hour, and a port without stored status has no history."""
    bus = Bus()
    now = 1_800_000_000
    start = now - 86400 - 3600
    quiet = [(start, 1), (start + 20000, 2), (start + 20300, 1), (start + 60000, 2), (start + 60120, 1)]
    flaps = [(now - 3000 + 240 * k, 2 if k % 2 == 0 else 1) for k in range(10)]
    async with Store.open(tmp_path / "db", prune_every=None) as store:
        store.add_status_changes([StatusChange("sw", 3, ts, status) for ts, status in quiet + flaps])
        store.add_status_changes([StatusChange("sw", 4, ts, s) for ts, s in ((start, 1), (now - 1800, 2), (now - 1500, 1))])
        await store.flush()
        ml = MlService(store, bus, clock=lambda: float(now), devices=lambda: [("sw", 60.0)])
        chosen = await ml.plan("sw", "if.3.status", now, 60.0)
        assert (chosen.end - chosen.start, chosen.start - chosen.baseline) == (3600, start)
        with bus.subscribe(types=(MlPrediction,)) as seen:
            async with trio.open_nursery() as nursery:
                await nursery.start(ml.run)
                flapping = await ml.submit("sw", "if.3.status", chosen.start, chosen.end, chosen.baseline, "u-op")
                once = await ml.submit("sw", "if.4.status", chosen.start, chosen.end, chosen.baseline, "u-op")
                none = await ml.submit("sw", "if.5.status", chosen.start, chosen.end, chosen.baseline, "u-op")
                with trio.fail_after(10):
                    done = {p.job_id: p.data() for p in [await seen.receive() for _ in range(3)]}
                nursery.cancel_scope.cancel()
    assert [r["label"] for r in done[flapping.id]["results"]] == ["flapping"], done[flapping.id]
    assert [r["label"] for r in done[once.id]["results"]] == ["normal"], done[once.id]
    assert done[none.id]["status"] == "failed"


async def test_a_scan_where_lowering_priority_is_refused_still_runs_and_says_so_once(tmp_path, caplog, monkeypatch):
    """The shipped unit's system call filter refuses setpriority (EPERM): the scan runs at normal
    priority, paced by scan_cpu_share, and the log says so once."""
    def refused(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr("eyenet.anomaly.scanner.os.setpriority", refused)
    async with Store.open(tmp_path / "db", prune_every=None) as store:
        ml = MlService(store, Bus(), clock=lambda: 1_800_000_000.0, settings=AnomalySettings(scan_interval=3600),
                       devices=lambda: [("quiet", 60.0)])
        assert await ml.scan() == 0 and await ml.scan() == 0
    said = [r.getMessage() for r in caplog.records if "normal CPU priority" in r.getMessage()]
    assert said == ["anomaly scans run at normal CPU priority (lowering it was refused: Operation not permitted); "
                    "only [anomaly] scan_cpu_share keeps them from polls and push"]
