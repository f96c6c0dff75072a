"""The SQLite store: migrations, devices kept across restarts, samples, rollups, retention."""

import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
import trio
import trio.testing

from eyenet.collect.history import Sample, StatusChange
from eyenet.config import StoreSettings
from eyenet.devices.model import DeviceConfig, StoredDevice
from eyenet.store import db as store_module
from eyenet.store.db import Store
from eyenet.store.errors import StoreError
from eyenet.store.schema import MIGRATIONS


async def test_devices_survive_a_restart(tmp_path):
    db = tmp_path / "eyenet.db"
    async with Store.open(db) as store:
        await store.upsert_device(StoredDevice(DeviceConfig("core-1", "192.0.2.1", tags=("core", "dc1"), community="s3cret")))
        await store.upsert_device(StoredDevice(DeviceConfig("sw-2", "sw2.example.net", port=1161, version="1")))
        await store.upsert_device(StoredDevice(DeviceConfig("sw-2", "sw2.example.net", port=161, version="2c"), "config"))
        await store.delete_device("nope")
    async with Store.open(db) as store:
        stored = await store.devices()
    devices = [s.device for s in stored]
    assert [d.id for d in devices] == ["core-1", "sw-2"]
    assert devices[0].tags == ("core", "dc1") and devices[0].community == "s3cret"
    assert devices[1].port == 161 and devices[1].version == "2c" and stored[1].source == "config"
    assert "s3cret" not in repr(stored[0])


async def test_samples_and_rollups(tmp_path):
    now = int(time.time())
    base = now - now % 3600 - 3600  # the last full hour: inside every retention
    async with Store.open(tmp_path / "m.db") as store:
        # 20 minutes of 10-second samples: values 0..119
        store.add_samples([Sample("d1", "cpu", base + 10 * i, float(i)) for i in range(120)])
        store.add_samples([Sample("d2", "cpu", base, 50.0)])
        await store.flush()
        raw = await store.history("d1", "cpu", base, base + 1200)
        five = await store.history("d1", "cpu", base, base + 1200, step=300)
        hour = await store.history("d1", "cpu", base, base + 3600, step=3600)
    assert len(raw) == 120 and raw[5].avg == 5.0
    assert [p.ts for p in five] == [base, base + 300, base + 600, base + 900]
    assert five[0].min == 0 and five[0].max == 29 and five[0].avg == pytest.approx(14.5)
    assert len(hour) == 1 and hour[0].avg == pytest.approx(59.5) and hour[0].max == 119


async def test_rollups_add_up_across_batches(tmp_path):
    """A later batch with samples in buckets already written updates them (min, max, sum, count)."""
    base = int(time.time()) // 3600 * 3600 - 3600
    async with Store.open(tmp_path / "m.db") as store:
        store.add_samples([Sample("d1", "cpu", base + 10 * i, 0.1 * i) for i in range(3)])
        await store.flush()
        store.add_samples([Sample("d1", "cpu", base + 100, 1 / 3), Sample("d1", "cpu", base + 200, 7.25)])
        await store.flush()
        five = await store.history("d1", "cpu", base, base + 300, step=300)
        raw = await store.history("d1", "cpu", base, base + 300)
    assert [p.avg for p in raw] == [0.0, 0.1, 0.2, 1 / 3, 7.25]  # values exactly as sampled
    assert len(five) == 1 and (five[0].min, five[0].max) == (0.0, 7.25)
    assert five[0].avg == pytest.approx((0.1 + 0.2 + 1 / 3 + 7.25) / 5)


async def test_samples_as_plain_tuples_and_values_json_cannot_carry(tmp_path):
    """The poller passes plain tuples; a NaN or infinity (a device's nonsense) is left out, the
    rest of its batch written, and the writer goes on."""
    base = int(time.time()) // 3600 * 3600 - 3600
    async with Store.open(tmp_path / "m.db") as store:
        store.add_samples([("d1", "cpu", base, 1.5), ("d1", "cpu", base + 10, float("nan")), ("d1", "cpu", base + 20, float("inf"))])
        store.add_samples([Sample("d1", "cpu", base + 30, 2.5)])
        await store.flush()
        store.add_samples([("d1", "cpu", base + 40, 3.5)])
        await store.flush()
        raw = await store.history("d1", "cpu", base, base + 300)
        five = await store.history("d1", "cpu", base, base + 300, step=300)
    assert [(p.ts - base, p.avg) for p in raw] == [(0, 1.5), (30, 2.5), (40, 3.5)]
    assert len(five) == 1 and five[0].avg == pytest.approx(2.5) and (five[0].min, five[0].max) == (1.5, 3.5)


async def test_samples_wait_for_more_but_not_for_a_call(tmp_path, monkeypatch):
    """Samples alone are written after SAMPLE_LINGER, with those that came meanwhile; a call
    behind them ends the wait."""
    base = int(time.time()) // 3600 * 3600 - 3600
    monkeypatch.setattr(store_module, "SAMPLE_LINGER", 3600)  # the call below must end it
    async with Store.open(tmp_path / "m.db") as store:
        store.add_samples([("d1", "cpu", base, 1.0)])
        with trio.fail_after(60):  # a hang guard, far under the linger
            await store.upsert_device(StoredDevice(DeviceConfig("d1", "192.0.2.1")))
        assert len(await store.history("d1", "cpu", base, base + 60)) == 1
        monkeypatch.setattr(store_module, "SAMPLE_LINGER", 0.5)
        store.add_samples([("d1", "cpu", base + 10, 2.0)])
        await trio.testing.wait_all_tasks_blocked()
        store.add_samples([("d1", "cpu", base + 20, 3.0)])
        for _ in range(200):  # written without a call, both in one write (bounded: 20 s)
            written = await store.history("d1", "cpu", base, base + 60)
            if len(written) > 1:
                break
            await trio.sleep(0.1)
        assert len(written) == 3


async def test_retention_prunes_each_table_by_its_own_age(tmp_path):
    now = 1_800_000_000
    day = 86400
    async with Store.open(tmp_path / "r.db", StoreSettings(raw_days=1, rollup_5m_days=7, rollup_1h_days=30)) as store:
        store.add_samples([Sample("d", "cpu", now - age * day, 1.0) for age in (0.5, 3, 10, 40)])
        await store.prune(now)
        raw = await store.history("d", "cpu", 0, now + 1)
        five = await store.history("d", "cpu", 0, now + 1, step=300)
        hour = await store.history("d", "cpu", 0, now + 1, step=3600)
    assert len(raw) == 1 and len(five) == 2 and len(hour) == 3


async def test_interface_status_changes_are_read_back_with_the_status_before_and_pruned_with_the_longest_history(tmp_path):
    now = 1_800_000_000
    day = 86400
    async with Store.open(tmp_path / "s.db", StoreSettings(raw_days=1, rollup_5m_days=7, rollup_1h_days=30)) as store:
        store.add_status_changes([StatusChange("d", 3, now - age * day, status) for age, status in ((40, 1), (10, 1), (2, 2), (1, 1))])
        store.add_status_changes([StatusChange("d", 4, now - day, 7), StatusChange("e", 3, now - day, 2)])
        await store.flush()
        assert await store.status_start("d", 3) == now - 40 * day
        # From 3 days ago: the status then (up since 10 days ago), then each change.
        assert await store.status_changes("d", 3, now - 3 * day, now) == [(now - 10 * day, 1), (now - 2 * day, 2), (now - day, 1)]
        assert await store.status_changes("d", 3, now - 3 * day, now - 2 * day) == [(now - 10 * day, 1)]
        assert await store.status_changes("d", 5, 0, now) == [] and await store.status_start("d", 5) is None
        await store.prune(now)
        assert await store.status_start("d", 3) == now - 10 * day  # kept as long as the hourly rollups


async def test_traps_are_kept_with_their_varbinds_paged_and_pruned_by_age_and_count(tmp_path):
    from datetime import datetime, timezone

    from eyenet.events import Trap

    now = 1_800_000_000
    varbinds = [{"oid": "1.3.6.1.2.1.1.5.0", "type": "STRING", "value": {"hex": "6162", "text": "ab"}}]

    def trap(device: str, age_days: float, n: int) -> Trap:
        at = datetime.fromtimestamp(now - age_days * 86400, timezone.utc)
        return Trap(device, f"1.3.6.1.4.1.9.0.{n}", "2c", n % 2 == 0, "192.0.2.1", at, uptime=n, varbinds=varbinds)

    async with Store.open(tmp_path / "t.db", StoreSettings(trap_days=7, max_traps=4), prune_every=None) as store:
        store.add_traps([trap("d", 10, 0)] + [trap("d", 1, n) for n in range(1, 5)] + [trap("e", 0, 5)])
        await store.flush()
        first = await store.traps("d", limit=3)
        assert [t.trap.trap_oid for t in first] == ["1.3.6.1.4.1.9.0.4", "1.3.6.1.4.1.9.0.3", "1.3.6.1.4.1.9.0.2"]
        assert first[0].trap == trap("d", 1, 4) and [dict(v) for v in first[0].trap.varbinds] == varbinds
        rest = await store.traps("d", before=first[-1].id, limit=3)
        assert [t.trap.uptime for t in rest] == [1, 0]
        await store.prune(now)
        # Older than 7 days: gone; then only the newest 4 of all devices stay.
        assert [t.trap.uptime for t in await store.traps("d")] == [4, 3, 2]
        assert [t.trap.uptime for t in await store.traps("e")] == [5]


async def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path):
    db = tmp_path / "new.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this EyeNet"):
        async with Store.open(db):
            pass


async def test_not_a_database(tmp_path):
    db = tmp_path / "junk.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        async with Store.open(db):
            pass


async def test_a_slow_disk_does_not_block_the_event_loop(tmp_path):
    """add_samples never waits: a burst far larger than one batch is queued while other tasks run."""
    ticks = 0
    async with Store.open(tmp_path / "b.db") as store:

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            for chunk in range(10):
                store.add_samples([Sample(f"d{i % 50}", "cpu", int(time.time()) - chunk, 1.0) for i in range(2000)])
            await store.upsert_device(StoredDevice(DeviceConfig("x", "h")))  # waits for everything queued before it
            nursery.cancel_scope.cancel()
        raw = await store.history("d0", "cpu", 0, 2_000_000_000)
    assert len(raw) == 10 * 40
    assert ticks > 0 and store.dropped_samples == 0


def test_kill_9_loses_no_committed_device(tmp_path):
    """A device write that returned is on disk, even if the process dies at once after it."""
    db = tmp_path / "k.db"
    script = textwrap.dedent(
        f"""
        import os, signal, trio
        from eyenet.devices.model import DeviceConfig, StoredDevice
        from eyenet.store.db import Store
        async def main():
            async with Store.open({str(db)!r}) as store:
                await store.upsert_device(StoredDevice(DeviceConfig("kept", "192.0.2.9")))
                os.kill(os.getpid(), signal.SIGKILL)
        trio.run(main)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert proc.returncode == -9

    async def check():
        async with Store.open(db) as store:
            return await store.devices()

    assert [s.device.id for s in trio.run(check)] == ["kept"]
