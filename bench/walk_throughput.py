"""Walk throughput: ifXTable from many real snmpd agents, varbinds per CPU-second.

Brings up the lab of bench/snmp_lab.py (N namespaces, each with its own snmpd and
M veth interfaces), then walks IF-MIB::ifXTable (1.3.6.1.2.1.31.1.1) from all
agents at once with each poller, R rounds, the pollers taking turns round-robin
(round r starts with poller r mod P) and each poller's round starting with the
agents' interface cache cold (a pause longer than snmpd's 3 s ifTable cache
timeout before every poller round). Each poller is its own process:

  eyenet         a persistent Python worker using eyenet.snmp.SnmpClient.walk,
                 all agents at once in one Trio nursery, one client for the
                 worker's life, GETBULK max-repetitions pinned at 25 like the
                 peers; skipped with a message while `import eyenet.snmp`
                 (SnmpClient, Target) fails.
  eyenet_tuned   the same with the client's own self-tuning max-repetitions
                 (starts at 25, grows to its cap while answers come back whole
                 and quick): EyeNet as it runs; reported beside, in ratios_tuned.
  pysnmp         a persistent Python worker using pysnmp 7's asyncio
                 bulk_walk_cmd (one SnmpEngine, max-repetitions 25,
                 lexicographicMode=False, lookupMib=False), asyncio.gather.
  netsnmp        one `snmpbulkwalk -v2c -c public -Cr25 -On -Oq HOST OID` per
                 agent, all started at once.
  eyenet_v3,     --v3 adds these two: eyenet (pinned at 25) and snmpbulkwalk over
  netsnmp_v3     SNMPv3 authPriv, SHA-256 + AES-128, as the user every agent has
                 (snmp_lab.V3_USER); the v3/v2c CPU ratios are reported beside,
                 from the totals and round by round (median, spread, best rounds).
  snmp_exporter  Debian's prometheus-snmp-exporter with a hand-written snmp.yml
                 (module walking ifXTable, v2c, max_repetitions 25, no lookups),
                 scraped for every agent at once from a thread pool.

CPU per round: in-worker getrusage(RUSAGE_SELF) delta around the round for the
Python workers (start-up and imports excluded: they are long-running pollers);
the exporter's utime+stime delta from /proc/PID/stat (start-up excluded, likewise);
the sum of the snmpbulkwalk children's user+sys from os.wait4 (process start-up
included: that is how snmpbulkwalk is used; the cost of one process walking a
single varbind is measured too, and a figure without it reported beside). Every
round's per-agent varbind count is checked against the 18 ifXTable columns
net-snmp implements x the agent's interfaces.

Prints one JSON line on stdout with every figure; progress and a table on stderr
unless --json-only. Needs root. See bench/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import select
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import snmp_lab  # noqa: E402
from snmp_lab import IFX_TABLE, V3_AUTH, V3_PRIV, V3_USER, Lab, LabError, spawn, stop_process  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# Rounds by default with --v3: a round is ~0.15 CPU-s of a worker, which other work on a
# shared machine can shift by a tenth; the per-round ratios' median needs several.
V3_ROUNDS = 9
MAX_REP = 25
V3_NETSNMP = ("-v3", "-l", "authPriv", "-u", V3_USER, "-a", "SHA-256", "-A", V3_AUTH, "-x", "AES", "-X", V3_PRIV)
CACHE_TIMEOUT_S = 3.0  # snmpd's ifTable/ifXTable cache (nsCacheTimeout of 1.3.6.1.2.1.2.2)

IFX_COLUMNS = [  # (column, name, snmp_exporter type)
    (1, "ifName", "DisplayString"),
    (2, "ifInMulticastPkts", "counter"),
    (3, "ifInBroadcastPkts", "counter"),
    (4, "ifOutMulticastPkts", "counter"),
    (5, "ifOutBroadcastPkts", "counter"),
    (6, "ifHCInOctets", "counter"),
    (7, "ifHCInUcastPkts", "counter"),
    (8, "ifHCInMulticastPkts", "counter"),
    (9, "ifHCInBroadcastPkts", "counter"),
    (10, "ifHCOutOctets", "counter"),
    (11, "ifHCOutUcastPkts", "counter"),
    (12, "ifHCOutMulticastPkts", "counter"),
    (13, "ifHCOutBroadcastPkts", "counter"),
    (14, "ifLinkUpDownTrapEnable", "gauge"),
    (15, "ifHighSpeed", "gauge"),
    (16, "ifPromiscuousMode", "gauge"),
    (17, "ifConnectorPresent", "gauge"),
    (18, "ifAlias", "DisplayString"),
    (19, "ifCounterDiscontinuityTime", "gauge"),
]

# -- the Python workers ----------------------------------------------------------
# Protocol: the worker prints {"ready": ...} or {"skip": reason} once; then for
# each JSON request line {"hosts": [...]} on stdin it walks them all and prints
# {"counts": {host: n}, "errors": {host: text}, "cpu_s": x, "wall_s": y}.

_WORKER_COMMON = r'''
import json, resource, sys, time
def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def _say(obj):
    sys.stdout.write(json.dumps(obj) + "\n"); sys.stdout.flush()
OID_TEXT = "1.3.6.1.2.1.31.1.1"
OID = tuple(int(x) for x in OID_TEXT.split("."))
'''

EYENET_WORKER = _WORKER_COMMON + r"""
# argv[1]: "pinned" = max-repetitions fixed at 25 like the peers; "tuned" = the
# client's own self-tuning GETBULK size (starts at 25, grows while answers come
# back whole and quick); "v3" = pinned, over SNMPv3 authPriv as the user argv[2:]
# (name, auth password, priv password; SHA-256 + AES). One client for the life of
# the worker, like the daemon.
MODE = sys.argv[1] if len(sys.argv) > 1 else "pinned"
try:
    import attrs
    import trio
    import eyenet
    from eyenet.snmp.client import SnmpClient, Target
except Exception as exc:
    _say({"skip": f"import eyenet.snmp failed: {type(exc).__name__}: {exc}"}); sys.exit(0)

_fields = set(attrs.fields_dict(Target)) if attrs.has(Target) else set()
_TARGET_KW = {}
if MODE == "v3":
    from eyenet.snmp.usm import UsmUser
    _TARGET_KW = {"version": "3", "usm": UsmUser(sys.argv[2], "authPriv", "SHA-256", sys.argv[3], "AES", sys.argv[4])}
if MODE in ("pinned", "v3"):
    if {"max_repetitions", "max_repetitions_cap"} <= _fields:
        _TARGET_KW |= {"max_repetitions": 25, "max_repetitions_cap": 25}
    elif "max_repetitions" in _fields:
        _TARGET_KW |= {"max_repetitions": 25}

async def _round(client, hosts):
    counts, errors = {}, {}
    async def one(h):
        t = Target(**{"host": h, "port": 161, "version": "2c", "community": "public", "timeout": 2.0, "retries": 2, **_TARGET_KW})
        try:
            vbs = await client.walk(t, OID)
        except Exception as exc:
            errors[h] = f"{type(exc).__name__}: {exc}"
            return
        counts[h] = len(vbs)
    async with trio.open_nursery() as n:
        for h in hosts:
            n.start_soon(one, h)
    return counts, errors

async def _main():
    async with SnmpClient.open(max_in_flight=256) as client:
        _say({"ready": True, "version": getattr(eyenet, "__version__", "?"), "mode": MODE,
              "target_options": {k: v if isinstance(v, (int, str)) else repr(v) for k, v in _TARGET_KW.items()} or "client defaults"})
        while True:
            line = await trio.to_thread.run_sync(sys.stdin.readline)
            if not line:
                return
            req = json.loads(line)
            c0, t0 = _cpu(), time.perf_counter()
            counts, errors = await _round(client, req["hosts"])
            wall, cpu = time.perf_counter() - t0, _cpu() - c0
            _say({"counts": counts, "errors": errors, "cpu_s": cpu, "wall_s": wall})

trio.run(_main)
"""

PYSNMP_WORKER = _WORKER_COMMON + r'''
try:
    import asyncio
    import pysnmp
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData, ContextData, ObjectIdentity, ObjectType, SnmpEngine, UdpTransportTarget, bulk_walk_cmd,
    )
except Exception as exc:
    _say({"skip": f"import pysnmp.hlapi.v3arch.asyncio failed: {type(exc).__name__}: {exc}"}); sys.exit(0)

async def _walk(engine, h):
    target = await UdpTransportTarget.create((h, 161), timeout=2.0, retries=2)
    n = 0
    async for err_ind, err_stat, err_idx, vbs in bulk_walk_cmd(
        engine, CommunityData("public"), target, ContextData(), 0, 25,
        ObjectType(ObjectIdentity(OID_TEXT)), lexicographicMode=False, lookupMib=False,
    ):
        if err_ind or err_stat:
            raise RuntimeError(str(err_ind) if err_ind else err_stat.prettyPrint())
        n += len(vbs)
    return n

async def _round(engine, hosts):
    res = await asyncio.gather(*(_walk(engine, h) for h in hosts), return_exceptions=True)
    counts, errors = {}, {}
    for h, r in zip(hosts, res):
        if isinstance(r, BaseException):
            errors[h] = f"{type(r).__name__}: {r}"
        else:
            counts[h] = r
    return counts, errors

async def _make_engine():
    return SnmpEngine()

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
engine = loop.run_until_complete(_make_engine())  # one engine for the life of the poller
_say({"ready": True, "version": pysnmp.__version__, "max_repetitions": 25})
for line in sys.stdin:
    req = json.loads(line)
    c0, t0 = _cpu(), time.perf_counter()
    counts, errors = loop.run_until_complete(_round(engine, req["hosts"]))
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    _say({"counts": counts, "errors": errors, "cpu_s": cpu, "wall_s": wall})
engine.close_dispatcher()
'''


class Skip(Exception):
    """This poller cannot run here; the reason goes in the report."""


def _cpu_of_rusage(ru) -> float:
    return ru.ru_utime + ru.ru_stime


def _reap(proc: subprocess.Popen, timeout: float) -> float | None:
    """Wait for proc (bounded) with os.wait4; its user+sys CPU (and its children's)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return _cpu_of_rusage(ru)
        time.sleep(0.01)
    return None


def _proc_cpu(pid: int) -> float:
    """utime+stime of a live process from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Poller:
    name = "?"
    cpu_method = "?"

    def start(self, deadline: float) -> dict:  # -> info for the report; raises Skip
        return {}

    def run_round(self, hosts: list[str], timeout: float) -> dict:  # counts, errors, cpu_s, wall_s
        raise NotImplementedError

    def close(self) -> dict:  # -> extra figures for the report
        return {}

    def extra_summary(self, varbinds: int, cpu_s: float, processes: int) -> dict:
        return {}


class PythonWorkerPoller(Poller):
    cpu_method = "getrusage(RUSAGE_SELF) delta inside the worker around each round (start-up excluded)"

    def __init__(self, name: str, script: Path, env: dict[str, str], args: tuple[str, ...] = ()):
        self.name, self.script, self.env, self.args = name, script, env, args
        self.proc: subprocess.Popen | None = None
        self._buf = b""

    def _readline(self, timeout: float) -> dict:
        end = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name} worker gave no answer in {timeout:.0f} s")
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    err = self._stderr_tail()
                    raise RuntimeError(f"{self.name} worker exited ({self.proc.poll()}): {err}")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def _stderr_tail(self) -> str:
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        try:
            return self.stderr_path.read_bytes().decode(errors="replace")[-1500:].strip()
        except OSError:
            return ""

    def start(self, deadline: float) -> dict:
        self.stderr_path = self.script.with_name(f"{self.name}.stderr")
        with open(self.stderr_path, "wb") as err:
            self.proc = spawn(
                [sys.executable, str(self.script), *self.args], env=self.env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
            )
        msg = self._readline(max(1.0, min(60.0, deadline - time.monotonic())))
        if "skip" in msg:
            self.proc.wait(timeout=10)
            raise Skip(msg["skip"])
        return {k: v for k, v in msg.items() if k != "ready"}

    def run_round(self, hosts: list[str], timeout: float) -> dict:
        self.proc.stdin.write((json.dumps({"hosts": hosts}) + "\n").encode())
        self.proc.stdin.flush()
        return self._readline(timeout)

    def close(self) -> dict:
        if self.proc is None:
            return {}
        out = {}
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        cpu = _reap(self.proc, 10.0)
        if cpu is None:
            stop_process(self.proc)
        else:
            out["process_cpu_s_total"] = round(cpu, 4)  # incl. interpreter start-up, imports, warm-up
        return out


class NetSnmpPoller(Poller):
    name = "netsnmp"
    cpu_method = "sum of the snmpbulkwalk children's user+sys from os.wait4 (process start-up included)"

    def __init__(self, workdir: Path, probe_host: str, security: tuple[str, ...] = ("-v2c", "-c", "public")):
        self.workdir = workdir
        self.probe_host = probe_host
        self.security = security
        self.round_no = 0
        self.startup_cpu_s = None

    def start(self, deadline: float) -> dict:
        exe = "/usr/bin/snmpbulkwalk"
        if not os.access(exe, os.X_OK):
            raise Skip("snmpbulkwalk not found: apt-get install snmp")
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
        # What one process costs besides the walk: the same command for a one-varbind
        # subtree (sysUpTime), the median of 11 runs.
        probes = []
        for _ in range(11):
            proc = spawn([exe, *self.security, f"-Cr{MAX_REP}", "-On", "-Oq", self.probe_host, "1.3.6.1.2.1.1.3"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cpu = _reap(proc, 10.0)
            if cpu is None:
                stop_process(proc)
            elif proc.returncode == 0:
                probes.append(cpu)
        self.startup_cpu_s = sorted(probes)[len(probes) // 2] if probes else None
        return {"version": (out.stdout + out.stderr).strip().split()[-1],
                "command": f"snmpbulkwalk {' '.join(self.security)} -Cr{MAX_REP} -On -Oq HOST {IFX_TABLE}".replace(V3_AUTH, "*").replace(V3_PRIV, "*"),
                "one_varbind_process_cpu_s": self.startup_cpu_s}

    def extra_summary(self, varbinds: int, cpu_s: float, processes: int) -> dict:
        if not self.startup_cpu_s:
            return {}
        walk_cpu = cpu_s - processes * self.startup_cpu_s
        return {"varbinds_per_cpu_s_less_process_start": round(varbinds / walk_cpu, 1) if walk_cpu > 0 else None,
                "process_start_cpu_s_estimate": round(processes * self.startup_cpu_s, 4)}

    def run_round(self, hosts: list[str], timeout: float) -> dict:
        self.round_no += 1
        d = self.workdir / f"netsnmp-round{self.round_no}"
        d.mkdir(parents=True, exist_ok=True)
        procs, files = {}, {}
        t0 = time.perf_counter()
        for i, h in enumerate(hosts):
            out = open(d / f"{i}.out", "wb")
            err = open(d / f"{i}.err", "wb")
            try:
                procs[h] = spawn(["/usr/bin/snmpbulkwalk", *self.security, f"-Cr{MAX_REP}", "-On", "-Oq", h, IFX_TABLE],
                                 stdout=out, stderr=err)
            finally:
                out.close()
                err.close()
            files[h] = (d / f"{i}.out", d / f"{i}.err")
        cpu = 0.0
        pending = dict(procs)
        end = time.monotonic() + timeout
        while pending and time.monotonic() < end:
            for h, p in list(pending.items()):
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid == p.pid:
                    p.returncode = os.waitstatus_to_exitcode(status)
                    cpu += _cpu_of_rusage(ru)
                    del pending[h]
            if pending:
                time.sleep(0.002)
        wall = time.perf_counter() - t0
        errors = {}
        for h, p in pending.items():
            stop_process(p)
            errors[h] = f"timed out after {timeout:.0f} s"
        counts = {}
        prefix = ("." + IFX_TABLE + ".").encode()
        for h, (outp, errp) in files.items():
            if h in errors:
                continue
            if procs[h].returncode != 0:
                errors[h] = f"exit {procs[h].returncode}: {errp.read_bytes().decode(errors='replace').strip()[:300]}"
                continue
            counts[h] = sum(1 for line in outp.read_bytes().splitlines() if line.startswith(prefix))
            outp.unlink()
            errp.unlink()
        return {"counts": counts, "errors": errors, "cpu_s": cpu, "wall_s": wall}


class ExporterPoller(Poller):
    name = "snmp_exporter"
    cpu_method = "utime+stime delta of the exporter from /proc/PID/stat around each round (start-up excluded)"
    module = "ifx_bench"

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def config_text(self) -> str:
        lines = [
            "# Hand-written for the EyeNet walk benchmark (no generator, no MIBs).",
            "# snmp_exporter 0.21 format: module names at the top level, auth inside the module.",
            f"{self.module}:",
            "  walk:",
            f"  - {IFX_TABLE}",
            "  version: 2",
            f"  max_repetitions: {MAX_REP}",
            "  retries: 2",
            "  timeout: 2s",
            "  auth:",
            "    community: public",
            "  metrics:",
        ]
        for col, name, kind in IFX_COLUMNS:
            lines += [
                f"  - name: {name}",
                f"    oid: {IFX_TABLE}.1.{col}",
                f"    type: {kind}",
                f"    help: IF-MIB::{name} ({IFX_TABLE}.1.{col})",
                "    indexes:",
                "    - labelname: ifIndex",
                "      type: gauge",
            ]
        return "\n".join(lines) + "\n"

    def start(self, deadline: float) -> dict:
        exe = "/usr/bin/prometheus-snmp-exporter"
        if not os.access(exe, os.X_OK):
            raise Skip("prometheus-snmp-exporter not found: apt-get install prometheus-snmp-exporter")
        conf = self.workdir / "snmp.yml"
        conf.write_text(self.config_text())
        check = subprocess.run([exe, f"--config.file={conf}", "--dry-run"], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise Skip(f"snmp_exporter rejects the config: {check.stderr.strip()[-500:]}")
        ver = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
        with socket.socket() as s:  # a free port on loopback
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        log = open(self.workdir / "snmp_exporter.log", "wb")
        try:
            self.proc = spawn([exe, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{self.port}",
                               "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        end = min(deadline, time.monotonic() + 30)
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2) as r:
                    r.read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise Skip(f"snmp_exporter did not come up; see {self.workdir / 'snmp_exporter.log'}") from None
                time.sleep(0.1)
        text = (ver.stdout + ver.stderr).split("\n")[0]
        return {"version": text.split("version ")[-1].split(" ")[0] if "version " in text else text,
                "listen": f"127.0.0.1:{self.port}", "module": self.module}

    def _scrape(self, host: str, timeout: float) -> tuple[int, int]:
        url = f"http://127.0.0.1:{self.port}/snmp?target={host}&module={self.module}"
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read().decode()
        names = {name for _, name, _ in IFX_COLUMNS}
        samples, pdus = 0, -1
        for line in body.splitlines():
            if not line or line[0] == "#":
                continue
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in names:
                samples += 1
            elif name == "snmp_scrape_pdus_returned":
                pdus = int(float(line.rsplit(" ", 1)[1]))
        return samples, pdus

    def run_round(self, hosts: list[str], timeout: float) -> dict:
        counts, errors, pdus = {}, {}, {}
        c0 = _proc_cpu(self.proc.pid)
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            futs = {pool.submit(self._scrape, h, timeout): h for h in hosts}
            for fut in concurrent.futures.as_completed(futs, timeout=timeout + 5):
                h = futs[fut]
                try:
                    counts[h], pdus[h] = fut.result()
                except Exception as exc:
                    errors[h] = f"{type(exc).__name__}: {exc}"
                    continue
                if pdus[h] >= 0 and pdus[h] != counts[h]:
                    errors[h] = f"exposed {counts[h]} ifXTable samples but snmp_scrape_pdus_returned is {pdus[h]}"
        wall = time.perf_counter() - t0
        time.sleep(0.3)  # let the exporter finish what it does after answering (GC), then read its CPU
        cpu = _proc_cpu(self.proc.pid) - c0
        return {"counts": counts, "errors": errors, "cpu_s": cpu, "wall_s": wall,
                "pdus_returned": sum(v for v in pdus.values() if v >= 0)}

    def close(self) -> dict:
        if self.proc is None:
            return {}
        out = {}
        if self.proc.poll() is None:
            self.proc.terminate()
        cpu = _reap(self.proc, 5.0)
        if cpu is None:
            stop_process(self.proc)
        else:
            out["process_cpu_s_total"] = round(cpu, 4)
        return out


# -- the run -----------------------------------------------------------------------


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _summarise(name: str, poller: Poller, rounds: list[dict], expected: dict[str, int]) -> dict:
    vb = sum(sum(r["counts"].values()) for r in rounds)
    cpu = sum(r["cpu_s"] for r in rounds)
    wall = sum(r["wall_s"] for r in rounds)
    ok = bool(rounds) and all(not r["errors"] and r["counts"] == expected for r in rounds)
    out = {
        "status": "ok" if ok else ("no rounds" if not rounds else "mismatch"),
        "verified": ok,
        "rounds": [
            {
                "varbinds": sum(r["counts"].values()),
                "cpu_s": round(r["cpu_s"], 4),
                "wall_s": round(r["wall_s"], 4),
                "agents_ok": sum(1 for h, n in expected.items() if r["counts"].get(h) == n),
                **({"errors": dict(list(r["errors"].items())[:5])} if r["errors"] else {}),
                **({"pdus_returned": r["pdus_returned"]} if "pdus_returned" in r else {}),
            }
            for r in rounds
        ],
        "varbinds": vb,
        "cpu_s": round(cpu, 4),
        "wall_s": round(wall, 4),
        "varbinds_per_cpu_s": round(vb / cpu, 1) if cpu > 0 else None,
        "varbinds_per_wall_s": round(vb / wall, 1) if wall > 0 else None,
        "varbinds_per_cpu_s_median_round": (
            round(statistics.median(sum(r["counts"].values()) / r["cpu_s"] for r in rounds if r["cpu_s"] > 0), 1)
            if any(r["cpu_s"] > 0 for r in rounds) else None
        ),
        "cpu_method": poller.cpu_method,
        **poller.extra_summary(vb, cpu, sum(len(r["counts"]) + len(r["errors"]) for r in rounds)),
    }
    if not ok:
        bad = [(h, r["counts"].get(h), n) for r in rounds for h, n in expected.items() if r["counts"].get(h) != n]
        out["first_mismatches"] = [{"agent": h, "got": g, "expected": n} for h, g, n in bad[:5]]
    return out


def _v3_per_round(rounds: dict[str, list[dict]], me: str, expected: dict[str, int]) -> dict | None:
    """CPU per varbind of me over SNMPv3 divided by me's over v2c, round by round (round r of
    one beside round r of the other, each only if it walked every agent whole): the median
    and the spread; and "best", the ratio of each one's least CPU per varbind in any round
    (the least disturbed, as timeit takes the best). A round disturbed by other work moves
    one ratio, not the verdict."""
    def whole(r: dict) -> bool:
        return not r["errors"] and r["counts"] == expected and r["cpu_s"] > 0

    def per_varbind(r: dict) -> float:
        return r["cpu_s"] / sum(r["counts"].values())

    pairs = [(per_varbind(v2), per_varbind(v3)) for v2, v3 in zip(rounds.get(me, []), rounds.get(f"{me}_v3", []))
             if whole(v2) and whole(v3)]
    if not pairs:
        return None
    each = [v3 / v2 for v2, v3 in pairs]
    return {"median": round(statistics.median(each), 3), "min": round(min(each), 3), "max": round(max(each), 3),
            "best": round(min(v3 for _, v3 in pairs) / min(v2 for v2, _ in pairs), 3),
            "rounds": len(each), "each": [round(r, 3) for r in each]}


def _run_pollers(args, quiet, lab, wanted, pollers, results, rounds, report, t_start) -> None:
    workers = lab.workdir / "workers"
    workers.mkdir(exist_ok=True)
    (workers / "eyenet_worker.py").write_text(EYENET_WORKER)
    (workers / "pysnmp_worker.py").write_text(PYSNMP_WORKER)
    py_env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    makers = {
        "eyenet": lambda: PythonWorkerPoller("eyenet", workers / "eyenet_worker.py", py_env, ("pinned",)),
        "eyenet_tuned": lambda: PythonWorkerPoller("eyenet_tuned", workers / "eyenet_worker.py", py_env, ("tuned",)),
        "pysnmp": lambda: PythonWorkerPoller("pysnmp", workers / "pysnmp_worker.py", py_env),
        "netsnmp": lambda: NetSnmpPoller(lab.workdir, lab.hosts[0]),
        "eyenet_v3": lambda: PythonWorkerPoller("eyenet_v3", workers / "eyenet_worker.py", py_env, ("v3", V3_USER, V3_AUTH, V3_PRIV)),
        "netsnmp_v3": lambda: NetSnmpPoller(lab.workdir, lab.hosts[0], V3_NETSNMP),
        "snmp_exporter": lambda: ExporterPoller(lab.workdir),
    }
    for name in wanted:
        poller = makers[name]()
        poller.name = name
        try:
            info = poller.start(time.monotonic() + 60)
        except Skip as exc:
            _say(quiet, f"{name}: skipped: {exc}")
            results[name] = {"status": "skipped", "reason": str(exc)}
            continue
        except Exception as exc:
            _say(quiet, f"{name}: failed to start: {exc}")
            results[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
            poller.close()
            continue
        pollers[name] = poller
        rounds[name] = []
        results[name] = {"info": info}
        _say(quiet, f"{name}: ready {info}")
    if not args.no_warmup:
        for name, poller in list(pollers.items()):
            lab.check_routes()
            try:
                poller.run_round(lab.hosts[:1], args.round_timeout)  # untimed: first-use costs, caches
            except Exception as exc:
                _say(quiet, f"{name}: warm-up failed: {exc}")
                results[name].update(status="failed", reason=f"warm-up: {type(exc).__name__}: {exc}")
                results[name].update(pollers.pop(name).close())
    order = list(pollers)
    for r in range(args.rounds):
        turn = order[r % len(order):] + order[: r % len(order)] if order else []
        for name in turn:
            if name not in pollers:
                continue
            if time.monotonic() - t_start > args.max_seconds:
                report["stopped_early"] = f"--max-seconds {args.max_seconds:.0f} reached in round {r + 1}"
                return
            time.sleep(args.cool_down)  # snmpd's interface cache expires: every round starts cold
            lab.check_routes()
            try:
                res = pollers[name].run_round(lab.hosts, args.round_timeout)
            except Exception as exc:
                _say(quiet, f"{name}: round {r + 1} failed: {exc}")
                results[name].update(status="failed", reason=f"round {r + 1}: {type(exc).__name__}: {exc}")
                results[name].update(pollers.pop(name).close())
                continue
            rounds[name].append(res)
            n_vb = sum(res["counts"].values())
            _say(quiet, f"round {r + 1} {name:14s} {n_vb:7d} varbinds  cpu {res['cpu_s']:7.3f} s  "
                        f"wall {res['wall_s']:6.2f} s  {n_vb / res['cpu_s'] if res['cpu_s'] else 0:10.0f} vb/cpu-s"
                        + (f"  errors {len(res['errors'])}" if res["errors"] else ""))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=20, help="snmpd agents, one network namespace each (default 20)")
    p.add_argument("--interfaces", type=int, default=100, help="veth interfaces per agent besides lo and the uplink (default 100)")
    p.add_argument("--rounds", type=int, help=f"rounds per poller, round-robin (default 3, with --v3 {V3_ROUNDS}; max 50)")
    p.add_argument("--pollers", default="eyenet,eyenet_tuned,pysnmp,netsnmp,snmp_exporter",
                   help="comma-separated subset of eyenet,eyenet_tuned,pysnmp,netsnmp,snmp_exporter (default: all)")
    p.add_argument("--v3", action="store_true", help="add eyenet_v3 and netsnmp_v3: SNMPv3 authPriv, SHA-256 + AES-128")
    p.add_argument("--cool-down", type=float, default=4.0, help=f"pause before each poller round, > snmpd's {CACHE_TIMEOUT_S:.0f} s cache (default 4)")
    p.add_argument("--round-timeout", type=float, default=120.0, help="seconds one poller round may take (default 120)")
    p.add_argument("--setup-timeout", type=float, default=300.0, help="seconds the lab may take to come up (default 300)")
    p.add_argument("--max-seconds", type=float, default=1800.0, help="no round starts after this many seconds (default 1800)")
    p.add_argument("--no-warmup", action="store_true", help="skip each poller's untimed warm-up walk of one agent")
    p.add_argument("--json-only", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    quiet = args.json_only
    if args.rounds is None:
        args.rounds = V3_ROUNDS if args.v3 else 3
    if not 1 <= args.rounds <= 50:
        p.error("--rounds must be 1..50")
    if args.cool_down <= CACHE_TIMEOUT_S:
        _say(quiet, f"note: --cool-down {args.cool_down} is not above snmpd's {CACHE_TIMEOUT_S} s cache: rounds may start warm")
    wanted = [w.strip() for w in args.pollers.split(",") if w.strip()]
    if args.v3:
        wanted += [w for w in ("eyenet_v3", "netsnmp_v3") if w not in wanted]
    known = ["eyenet", "eyenet_tuned", "pysnmp", "netsnmp", "snmp_exporter", "eyenet_v3", "netsnmp_v3"]
    for w in wanted:
        if w not in known:
            p.error(f"unknown poller {w!r}: choose from {','.join(known)}")

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    t_start = time.monotonic()
    report: dict = {
        "bench": "walk_throughput",
        "oid": IFX_TABLE,
        "agents": args.agents,
        "interfaces_per_agent": args.interfaces,
        "max_repetitions": MAX_REP,
        "rounds": args.rounds,
        "cool_down_s": args.cool_down,
        "machine": {"python": platform.python_version(), "kernel": platform.release(), "cpus": os.cpu_count()},
        "loadavg_1m_start": round(os.getloadavg()[0], 2),
    }
    if os.getloadavg()[0] > 1.0:
        _say(quiet, f"note: load average {os.getloadavg()[0]:.1f}: other work on this machine will disturb the figures")
    pollers: dict[str, Poller] = {}
    results: dict[str, dict] = {}
    rounds: dict[str, list[dict]] = {}
    expected: dict[str, int] = {}
    rc = 0
    lab = Lab(args.agents, args.interfaces, setup_timeout=args.setup_timeout,
              log=(lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True)))
    try:
        with lab:
            expected.update({a.addr: a.expected_ifx_varbinds for a in lab.agents})
            report.update(
                interfaces_per_agent=lab.agents[0].interfaces,
                ifx_columns=snmp_lab.IFX_COLUMNS,
                expected_varbinds_per_round=lab.expected_ifx_varbinds,
                setup_s=round(lab.setup_seconds, 2),
            )
            if lab.stale_removed:
                report["stale_removed"] = lab.stale_removed
            try:
                _run_pollers(args, quiet, lab, wanted, pollers, results, rounds, report, t_start)
            finally:
                # Pollers go before the agents do; summarise whatever rounds were done.
                for name, poller in list(pollers.items()):
                    results[name].update(_summarise(name, poller, rounds.get(name, []), expected))
                    try:
                        results[name].update(poller.close())
                    except Exception as exc:
                        _say(quiet, f"{name}: close failed: {exc}")
                pollers.clear()
    except KeyboardInterrupt:
        report["interrupted"] = True
        _say(quiet, "interrupted: lab torn down")
        rc = 130
    except (LabError, OSError) as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
        _say(quiet, f"error: {exc}")
        rc = 2
    report["teardown_s"] = round(lab.teardown_seconds, 2)
    report["total_s"] = round(time.monotonic() - t_start, 1)
    report["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    report["pollers"] = results

    def rate(n, key="varbinds_per_cpu_s"):
        r = results.get(n, {})
        return r.get(key) if r.get("verified") else None

    report["ratios"] = {
        f"eyenet/{peer}": (round(rate("eyenet") / rate(peer), 3) if rate("eyenet") and rate(peer) else None)
        for peer in ("netsnmp", "snmp_exporter", "pysnmp")
    }
    report["ratios_median_round"] = {
        f"{me}/{peer}": (round(rate(me, m) / rate(peer, m), 3) if rate(me, m) and rate(peer, m) else None)
        for me in ("eyenet", "eyenet_tuned") for peer in ("netsnmp", "snmp_exporter", "pysnmp")
        for m in ["varbinds_per_cpu_s_median_round"]
    }
    report["ratios_tuned"] = {
        f"eyenet_tuned/{peer}": (round(rate("eyenet_tuned") / rate(peer), 3) if rate("eyenet_tuned") and rate(peer) else None)
        for peer in ("netsnmp", "snmp_exporter", "pysnmp", "eyenet")
    }
    # CPU per varbind of v3 authPriv over v2c's, each tool against itself (> 1: v3 costs more).
    report["ratios_v3"] = {
        f"{me}_v3/{me}": (round(rate(me) / rate(f"{me}_v3"), 3) if rate(me) and rate(f"{me}_v3") else None)
        for me in ("eyenet", "netsnmp")
    }
    report["ratios_v3"]["eyenet_v3/netsnmp_v3"] = (
        round(rate("eyenet_v3") / rate("netsnmp_v3"), 3) if rate("eyenet_v3") and rate("netsnmp_v3") else None
    )
    report["ratios_v3_per_round"] = {f"{me}_v3/{me}": _v3_per_round(rounds, me, expected) for me in ("eyenet", "netsnmp")}
    report["ratio_meaning"] = ("varbinds per CPU-second of EyeNet divided by the peer's (> 1: EyeNet uses less CPU per "
                               "varbind); ratios*: from all rounds' totals, ratios_median_round: from each poller's median round")
    if not quiet:
        print(f"\n{'poller':14s} {'varbinds':>9s} {'cpu s':>8s} {'wall s':>8s} {'vb/cpu-s':>10s}  status", file=sys.stderr)
        for name, r in results.items():
            if "varbinds" in r:
                print(f"{name:14s} {r['varbinds']:9d} {r['cpu_s']:8.3f} {r['wall_s']:8.2f} "
                      f"{r['varbinds_per_cpu_s'] or 0:10.0f}  {r['status']}", file=sys.stderr)
            else:
                print(f"{name:14s} {'-':>9s} {'-':>8s} {'-':>8s} {'-':>10s}  {r.get('status')}: {r.get('reason', '')}",
                      file=sys.stderr)
        print(f"ratios: {report['ratios']}", file=sys.stderr)
        print(f"ratios of median rounds: {report['ratios_median_round']}", file=sys.stderr)
        print(f"ratios with the self-tuning GETBULK size: {report['ratios_tuned']}", file=sys.stderr, flush=True)
        print(f"v3 authPriv: CPU per varbind over v2c's (x_v3/x), and eyenet over net-snmp: {report['ratios_v3']}",
              file=sys.stderr, flush=True)
        for key, r in report["ratios_v3_per_round"].items():
            if r:
                print(f"v3 authPriv {key} round by round: median {r['median']:.3f}, {r['min']:.3f}-{r['max']:.3f} "
                      f"over {r['rounds']} rounds; best rounds' {r['best']:.3f}", file=sys.stderr, flush=True)
    print(json.dumps(report), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
