"""Anomaly detection (sans-io) and the job service with a real store and bus."""

import random

import pytest
import trio

from eyenet.anomaly.detect import Finding, NotEnoughData, confidence, detect
from eyenet.anomaly.service import MlService, history_step
from eyenet.bus import Bus
from eyenet.collect.history import Sample
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


def test_findings_come_most_confident_first_with_confidence_growing_with_distance():
    findings = detect(BASELINE, [5.0] * 10)
    assert findings == sorted(findings, key=lambda f: -f.confidence)
    assert confidence(3.5, 3.5) == 0.5 and confidence(7, 3.5) == 0.8 and confidence(-10.5, 3.5) == 0.9
    assert detect(BASELINE, [20, 21, 19, 60, 20])[0].confidence < detect(BASELINE, [20, 21, 19, 99, 20])[0].confidence
    assert all(0 < f.confidence < 1 for f in findings)


def test_constant_baselines_and_zero_series():
    assert detect([0.0] * 30, [0.0] * 5) == [Finding("normal", 0.999)]  # errors stay at zero: nothing to say
    assert labels(detect([0.0] * 30, [0, 0, 40, 0])) == ["spike"]
    assert labels(detect([50.0] * 30, [50, 50, 54, 50])) == ["spike"]  # 8 % off a level that never moved


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
