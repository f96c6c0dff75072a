"""Real SNMP agents on loopback, for tests and benchmarks.

Plain Python (no pytest): ``tests/conftest.py`` wraps these in fixtures, and
scripts under ``bench/`` can import them too (``sys.path`` must hold ``tests/``).

* ``start_snmpd(tmp_path)``: net-snmp's ``/usr/sbin/snmpd`` (Debian package
  ``snmpd``) in the foreground, on 127.0.0.1 (and optionally [::1]) at a free
  UDP port, with a generated configuration and all its state under
  ``tmp_path``. It never reads /etc/snmp nor writes /var/lib/snmp, so the
  Debian ``snmpd`` service (running or not, on port 161) does not matter.
  Three communities: ``agent.community`` (all but VOLATILE_SUBTREES),
  ``agent.full_community`` (everything) and ``agent.stable_community``
  (nothing that changes: two walks are identical).
* ``start_snmpsim(data_dir, tmp_path)``: ``snmpsim-command-responder`` from
  the running interpreter's environment, replaying every ``*.snmprec`` file in
  ``data_dir``; the SNMPv1/v2c community of a recording is its file stem.
* ``snmpget`` / ``snmpwalk`` / ``snmpbulkwalk``: run net-snmp's tools against
  an agent and parse their output (``tests/netsnmp_output.py``).

Every agent is started, then polled with ``snmpget`` until it answers; a
failure raises ``AgentError`` carrying the agent's log.
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Iterable, Optional, Sequence

try:  # imported as "tests.agents" or, with tests/ on sys.path, as "agents"
    from .netsnmp_output import NETSNMP_OUTPUT_OPTIONS, Varbind, parse_netsnmp_output
except ImportError:  # pragma: no cover
    from netsnmp_output import NETSNMP_OUTPUT_OPTIONS, Varbind, parse_netsnmp_output  # type: ignore[no-redef]

SNMPD = "/usr/sbin/snmpd"
REPO_ROOT = Path(__file__).resolve().parents[1]
# LibreNMS' device recordings and expectations: GPL v3 test fixtures kept beside the code,
# never packaged (tests/data/librenms/NOTICE; scripts/sync-testdata.sh refreshes them).
TESTDATA_DIR = REPO_ROOT / "tests" / "data" / "librenms"
SNMPREC_DIR = TESTDATA_DIR / "snmprec"
# The recordings snmpsim serves exactly as netsnmp_output.snmpsim_walk models them, so a
# whole walk through snmpsim can be compared with the file: the 12 the tests were first
# written for. The other 37 hold quirks the model does not cover yet: snmpsim strips
# trailing blanks off values (iosxe_c9500h-svl, jetstream_sg2218p, timos_ixr), serves one
# of procurve's duplicate OIDs, and stops answering GETBULK over vrp_ac6605-26's 5-12 KB
# port lists at 10 repetitions or more. They join once the model covers those quirks.
SNMPSIM_EXACT_RECORDINGS = (
    "arista_eos_vrf", "arubaos-cx", "dell-os10", "edgeswitch_es-24-250w", "fortigate_60fospfv3", "ios_2960x",
    "junos_qfx5100", "linux_icecast", "nxos_n3k-3064pq", "procurve_e2910", "routeros_crs317", "vrp_5720",
)

SYS_UPTIME = ".1.3.6.1.2.1.1.3.0"
# snmpsim indexes the recordings on first start: ~8 s for the 49 of tests/data/librenms on
# an idle 2-core machine, and two or three times that when the machine is busy.
START_TIMEOUT = 60.0

# What start_snmpd() hides, measured on Debian 12 / net-snmp 5.9.3 by walking
# the whole tree 0, 0.5, 1, 3, 6, 12, 20, 35, 50 and 65 s apart (past the
# agent's caches) while processes and network namespaces came and went.
#
# VOLATILE_SUBTREES are hidden from Agent.community: rows that come and go
# with processes and sockets (the walker's own process and UDP socket show up
# in them, so two walks never agree), clocks printed as strings, and values
# net-snmp's tools print lossily. What stays moves only the way a poller
# expects: counters and clocks grow, gauges (hrStorageUsed, memAvailReal, ...)
# change once per agent cache period (5-60 s), up or down. A comparison of a walk
# against net-snmp's own walks done just before and after it can therefore
# accept "equal to one of them, between them for a counter, and any value of the
# same type for anything else that moved" (a gauge, a load average's string): a walk
# of ~10 s spans more than one cache period, so it may have held a third value
# while EyeNet read it.
VOLATILE_SUBTREES: tuple[tuple[str, str], ...] = (
    ("1.3.6.1.2.1.6.13", "tcpConnTable: connections"),
    ("1.3.6.1.2.1.6.19", "tcpConnectionTable: connections"),
    ("1.3.6.1.2.1.6.20", "tcpListenerTable: listening sockets"),
    ("1.3.6.1.2.1.7.5", "udpTable: sockets (the walker's own among them)"),
    ("1.3.6.1.2.1.7.7", "udpEndpointTable: sockets (the walker's own among them)"),
    # Neighbour caches: entries age on their own (reachable -> stale -> delay -> probe), and
    # come and go with any traffic on the host, network-namespace labs of other tests included.
    ("1.3.6.1.2.1.3.1", "atTable: the ARP cache"),
    ("1.3.6.1.2.1.4.22", "ipNetToMediaTable: the ARP cache"),
    ("1.3.6.1.2.1.4.35", "ipNetToPhysicalTable: the neighbour cache and its entries' states"),
    ("1.3.6.1.2.1.25.1.2", "hrSystemDate: the current time, as an OCTET STRING"),
    ("1.3.6.1.2.1.25.1.5", "hrSystemNumUsers"),
    ("1.3.6.1.2.1.25.1.6", "hrSystemProcesses"),
    ("1.3.6.1.2.1.25.4", "hrSWRun: the process table"),
    ("1.3.6.1.2.1.25.5", "hrSWRunPerf: per-process CPU and memory"),
    ("1.3.6.1.4.1.2021.10.1.6", "laLoadFloat: an Opaque float, which net-snmp prints rounded to 6 places"),
    ("1.3.6.1.4.1.2021.100.4", "versionCDate: the current time, as a string"),
    ("1.3.6.1.4.1.8072.1.5.3", "NET-SNMP-AGENT-MIB nsCacheTable: cache entries flip between active and expired"),
)

# Also hidden from Agent.stable_community: everything else that changed at
# all between two walks, so that two walks of it are byte-for-byte equal.
# Besides counters and clocks this takes every table keyed by the host's
# interfaces or mounts: tests (lldpd in network namespaces) and anything else
# on the host add and remove interfaces.
CHANGING_SUBTREES: tuple[tuple[str, str], ...] = (
    ("1.3.6.1.2.1.1.3", "sysUpTime"),
    ("1.3.6.1.2.1.2", "interfaces: ifNumber, ifTable (counters; rows follow the host's interfaces)"),
    ("1.3.6.1.2.1.3", "at: ARP cache"),
    ("1.3.6.1.2.1.4", "ip: counters, ipSystemStats/ipIfStats, addresses, routes, neighbours"),
    ("1.3.6.1.2.1.5", "icmp: counters"),
    ("1.3.6.1.2.1.6", "tcp: counters and the tables above"),
    ("1.3.6.1.2.1.7", "udp: counters (the walk itself) and the tables above"),
    ("1.3.6.1.2.1.10", "transmission: EtherLike-MIB dot3StatsTable, per interface"),
    ("1.3.6.1.2.1.11", "snmp: the agent's own packet counters"),
    ("1.3.6.1.2.1.25.1.1", "hrSystemUptime"),
    ("1.3.6.1.2.1.25.2.3", "hrStorageTable: sizes and used sizes"),
    ("1.3.6.1.2.1.25.3", "hrDevice: hrProcessorLoad (rows appear after the first CPU sample), "
     "network devices, hrFSTable (mounts, /run/netns)"),
    ("1.3.6.1.2.1.31", "IF-MIB: ifXTable counters and rows, ifStackTable, ifTableLastChange"),
    ("1.3.6.1.2.1.55", "IPV6-MIB: per interface"),
    ("1.3.6.1.4.1.2021.4", "UCD memory"),
    ("1.3.6.1.4.1.2021.9", "UCD dskTable: disk usage"),
    ("1.3.6.1.4.1.2021.10", "UCD laTable: load averages"),
    ("1.3.6.1.4.1.2021.11", "UCD systemStats: CPU and I/O (scalars missing until the first CPU sample)"),
    ("1.3.6.1.4.1.2021.13.15", "UCD-DISKIO-MIB diskIOTable: I/O counters, devices"),
    ("1.3.6.1.6.3.10.2.1.3", "snmpEngineTime"),
    # Counters that SNMPv3 traffic bumps: every engine-ID discovery (so every
    # new v3 client, net-snmp's tools included) and every wrong key, unknown
    # user or unknown context.
    ("1.3.6.1.6.3.11.2.1", "SNMP-MPD-MIB snmpMPDStats"),
    ("1.3.6.1.6.3.12.1.4", "snmpUnavailableContexts"),
    ("1.3.6.1.6.3.12.1.5", "snmpUnknownContexts"),
    ("1.3.6.1.6.3.15.1.1", "SNMP-USER-BASED-SM-MIB usmStats"),
)


class AgentError(RuntimeError):
    """An agent did not start, or died."""


class Agent:
    """A running agent process. Use as a context manager or call stop()."""

    def __init__(
        self,
        name: str,
        process: subprocess.Popen,
        host: str,
        port: int,
        community: str,
        workdir: Path,
        log_path: Path,
        log_file: IO[bytes],
        host6: Optional[str] = None,
        full_community: Optional[str] = None,
        stable_community: Optional[str] = None,
        communities: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.process = process
        self.host = host
        self.port = port
        self.community = community
        self.workdir = workdir
        self.log_path = log_path
        self._log_file = log_file
        #: "::1" when the agent also listens on IPv6 (same port), else None.
        self.host6 = host6
        #: snmpd: the whole tree, VOLATILE_SUBTREES included.
        self.full_community = full_community or community
        #: snmpd: only what never changes (no counters, clocks, interfaces, ...).
        self.stable_community = stable_community or community
        #: snmpsim: every community served (one per recording, the file stem).
        self.communities = tuple(communities) or (community,)
        #: what started it (restart() runs it again)
        self.command: Sequence[str] = tuple(process.args) if isinstance(process.args, (list, tuple)) else ()
        self._env: dict[str, str] = {}
        _RUNNING.add(self)

    # -- addresses ---------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def address6(self) -> tuple[str, int]:
        if self.host6 is None:
            raise AgentError(f"{self.name} does not listen on IPv6 (start it with ipv6=True)")
        return (self.host6, self.port)

    def target(self, ipv6: bool = False) -> str:
        """The agent address in net-snmp's syntax: ``udp:127.0.0.1:PORT`` or ``udp6:[::1]:PORT``."""
        if ipv6:
            host, port = self.address6
            return f"udp6:[{host}]:{port}"
        return f"udp:{self.host}:{self.port}"

    # -- life cycle --------------------------------------------------------
    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self, tail: int = 4000) -> str:
        """The end of the agent's log (for snmpd, also what it wrote to stdout/stderr)."""
        paths = [self.log_path]
        output = Path(self._log_file.name)
        if output != self.log_path:
            paths.insert(0, output)
        texts = []
        for path in paths:
            try:
                if not self._log_file.closed:
                    self._log_file.flush()
                texts.append(path.read_text(errors="replace"))
            except OSError:
                pass
        text = "".join(texts)
        return text[-tail:] if tail else text

    def check_alive(self) -> None:
        if not self.alive():
            raise AgentError(
                f"{self.name} (pid {self.pid}) exited with status {self.process.returncode}; "
                f"log {self.log_path}:\n{self.log_text()}"
            )

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, wait, then SIGKILL. Idempotent. Only ever signals our own pid."""
        stop_process(self.process, timeout)
        if not self._log_file.closed:
            self._log_file.close()
        _RUNNING.discard(self)

    def restart(self) -> None:
        """Stop and start the same agent again: same command, port and directory; snmpd then
        keeps its engine id and counts one more boot. Waits until it answers."""
        self.stop()
        command = list(self.command)
        persist = self.workdir / "netsnmp-persist" / "snmpd.conf"
        if self.name == "snmpd" and persist.exists() and str(persist) not in command[command.index("-c") + 1]:
            # -C keeps snmpd from reading its persistent state by itself: name it with the config.
            command[command.index("-c") + 1] += f",{persist}"
            self.command = tuple(command)
        self.process, self._log_file = _spawn(self.command, self._env, Path(self._log_file.name), self.workdir)
        _RUNNING.add(self)
        wait_until_answers(self, community=self.community)

    def __enter__(self) -> "Agent":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self.process.returncode}"
        v6 = f", [{self.host6}]:{self.port}" if self.host6 else ""
        return f"<Agent {self.name} {self.host}:{self.port}{v6} community={self.community!r} pid={self.pid} {state}>"


# ---------------------------------------------------------------------------
# ports and addresses
# ---------------------------------------------------------------------------


def stop_process(process: subprocess.Popen | None, grace: float = 3.0) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL: only this pid, never a group."""
    if process is None or process.poll() is not None:
        return
    try:
        process.terminate()
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    except ProcessLookupError:  # pragma: no cover - raced with its exit
        pass


def ipv6_available() -> bool:
    """Whether ::1 can be bound here (containers may have IPv6 disabled)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def free_udp_port(host: str = "127.0.0.1", ipv6: bool = False) -> int:
    """A UDP port that is free on ``host`` (and on ::1 too when ``ipv6``).

    Binds port 0, reads the port the kernel chose, closes. Another process can
    still take it before the agent binds it; the start_* functions detect that
    (the agent exits or never answers) and retry with another port.
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
            if not ipv6:
                return port
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s6:
                    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s6.bind(("::1", port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
            return port
    raise AgentError("could not find a UDP port free on both 127.0.0.1 and ::1")


# ---------------------------------------------------------------------------
# net-snmp command-line tools
# ---------------------------------------------------------------------------


def netsnmp_env(workdir: Path) -> dict[str, str]:
    """Environment for net-snmp tools and snmpd isolated from the host:
    no /etc/snmp/snmp.conf or ~/.snmp (SNMPCONFPATH), no MIBs, and persistent
    state under ``workdir`` instead of /var/lib/snmp."""
    conf = workdir / "netsnmp-conf"
    persist = workdir / "netsnmp-persist"
    conf.mkdir(parents=True, exist_ok=True)
    persist.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        SNMPCONFPATH=str(conf),
        SNMP_PERSISTENT_DIR=str(persist),
        MIBS="",
        MIBDIRS=str(conf),
    )
    return env


def run_netsnmp(
    tool: str,
    agent: Agent,
    *args: str,
    version: str = "2c",
    community: Optional[str] = None,
    ipv6: bool = False,
    timeout: float = 1.0,
    retries: int = 2,
    check: bool = True,
    options: Sequence[str] = NETSNMP_OUTPUT_OPTIONS,
    v3_args: Sequence[str] = (),
) -> subprocess.CompletedProcess:
    """Run ``tool`` (snmpget, snmpbulkwalk, ...) against ``agent``; returns the
    CompletedProcess (text mode). ``args`` go after the agent address.

    ``version`` is "1", "2c" or "3"; for "3" pass the security options in
    ``v3_args`` (e.g. ``("-l", "authPriv", "-u", USER, "-a", "SHA", "-A", PASS,
    "-x", "AES", "-X", PASS)``) instead of a community.
    """
    if version == "3":
        security = ["-v3", *v3_args]
    else:
        security = [f"-v{version}", "-c", community if community is not None else agent.community]
    cmd = [
        tool,
        *options,
        *security,
        "-t",
        str(timeout),
        "-r",
        str(retries),
        agent.target(ipv6),
        *args,
    ]
    # Wall-clock cap: generous, only there so that a wedged agent cannot hang a test run.
    proc = subprocess.run(
        cmd,
        env=netsnmp_env(agent.workdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    if check and (proc.returncode != 0 or "Timeout: No Response" in proc.stderr):
        raise AgentError(
            f"{' '.join(cmd)!s} failed with status {proc.returncode}:\n{proc.stderr.strip()}\n"
            f"agent: {agent!r}\n{agent.log_text(2000)}"
        )
    return proc


def snmpget(agent: Agent, *oids: str, **kwargs) -> list[Varbind]:
    """GET ``oids`` with net-snmp's snmpget (one request)."""
    return parse_netsnmp_output(run_netsnmp("snmpget", agent, *oids, **kwargs).stdout)


def snmpwalk(agent: Agent, oid: str = ".1", **kwargs) -> list[Varbind]:
    """GETNEXT walk of ``oid`` with net-snmp's snmpwalk (use version="1" for v1)."""
    return parse_netsnmp_output(run_netsnmp("snmpwalk", agent, oid, **kwargs).stdout)


def snmpbulkwalk(agent: Agent, oid: str = ".1", max_repetitions: int = 25, **kwargs) -> list[Varbind]:
    """GETBULK walk of ``oid`` (v2c) with net-snmp's snmpbulkwalk ``-Cr<max_repetitions>``.

    A walk that runs off the end of the agent's tree ends with one or more
    endOfMibView varbinds (see netsnmp_output.strip_end_of_walk()).
    """
    args = (f"-Cr{max_repetitions}", oid)
    return parse_netsnmp_output(run_netsnmp("snmpbulkwalk", agent, *args, **kwargs).stdout)


def wait_until_answers(
    agent: Agent, oid: str = SYS_UPTIME, community: Optional[str] = None, timeout: float = START_TIMEOUT
) -> None:
    """Poll ``agent`` with snmpget until it answers ``oid`` (v2c)."""
    deadline = time.monotonic() + timeout
    while True:
        agent.check_alive()
        proc = run_netsnmp("snmpget", agent, oid, community=community, timeout=0.3, retries=0, check=False)
        if proc.returncode == 0 and proc.stdout.startswith("."):
            return
        if time.monotonic() > deadline:
            raise AgentError(
                f"{agent.name} did not answer a GET of {oid} within {timeout:.0f} s "
                f"(last snmpget: {proc.stderr.strip() or proc.stdout.strip()!r}); "
                f"log {agent.log_path}:\n{agent.log_text()}"
            )
        time.sleep(0.05)


# Agents still running when the interpreter exits (a killed test run, a bench
# script that forgot stop()) are stopped by atexit; those started from the
# main thread also get SIGTERM from the kernel if this process dies outright.
_RUNNING: "set[Agent]" = set()


@atexit.register
def _stop_leftover_agents() -> None:
    for agent in list(_RUNNING):
        agent.stop()


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(cmd: Sequence[str], env: dict[str, str], log_path: Path, cwd: Path) -> tuple[subprocess.Popen, IO[bytes]]:
    log_file = open(log_path, "ab")
    # PDEATHSIG fires when the *thread* that forked exits: only use it from the
    # main thread (a trio worker thread may exit while the agent is in use).
    in_main_thread = threading.current_thread() is threading.main_thread()
    try:
        process = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal goes to pytest, not to the agent
            preexec_fn=_die_with_parent if in_main_thread and sys.platform == "linux" else None,
        )
    except BaseException:
        log_file.close()
        raise
    return process, log_file


def _start_with_retries(start_once, attempts: int = 3) -> Agent:
    """Run start_once(port_attempt) until the agent answers; a lost port race
    shows up as an agent that exits (snmpd) or never answers, so try again."""
    last: Optional[AgentError] = None
    for attempt in range(attempts):
        agent = start_once(attempt)
        try:
            wait_until_answers(agent, community=agent.community)
            return agent
        except BaseException as exc:
            agent.stop()
            if not isinstance(exc, AgentError):
                raise
            last = exc
    assert last is not None
    raise last


# ---------------------------------------------------------------------------
# net-snmp snmpd
# ---------------------------------------------------------------------------


def _oids(subtrees: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(oid for oid, _ in subtrees)


def snmpd_config(
    port: int,
    community: str = "public",
    full_community: Optional[str] = None,
    stable_community: Optional[str] = None,
    ipv6: bool = False,
    exclude: Iterable[str] = _oids(VOLATILE_SUBTREES),
    stable_exclude: Iterable[str] = _oids(VOLATILE_SUBTREES + CHANGING_SUBTREES),
    extra_conf: str = "",
) -> str:
    """The snmpd.conf that start_snmpd() writes.

    Views: ``all`` is the whole tree, ``main`` is ``all`` minus ``exclude``,
    ``stable`` is ``all`` minus ``stable_exclude``. ``community`` reads
    ``main``, ``full_community`` ``all``, ``stable_community`` ``stable``; all
    only from loopback. ``extra_conf`` is appended verbatim (e.g. SNMPv3 users:
    ``createUser u SHA authpass AES privpass`` + ``rouser u authpriv -V main``).
    """
    full_community = full_community or f"{community}-full"
    stable_community = stable_community or f"{community}-stable"
    addresses = [f"udp:127.0.0.1:{port}"]
    if ipv6:
        addresses.append(f"udp6:[::1]:{port}")
    grants = [(community, "main"), (full_community, "all"), (stable_community, "stable")]
    lines = [
        "# Generated by tests/agents.py: a throwaway snmpd for EyeNet's tests.",
        f"agentaddress {','.join(addresses)}",
        "",
        "view all included .1",
        "view main included .1",
        *(f"view main excluded .{oid.lstrip('.')}" for oid in exclude),
        "view stable included .1",
        *(f"view stable excluded .{oid.lstrip('.')}" for oid in stable_exclude),
        "",
        *(f"rocommunity {name} 127.0.0.1 -V {view}" for name, view in grants),
        *((f"rocommunity6 {name} ::1 -V {view}" for name, view in grants) if ipv6 else ()),
        "",
        # Fixed, so tests can assert them (a conf-set object is read-only).
        "sysName eyenet-test-snmpd",
        "sysLocation loopback",
        "sysContact eyenet tests",
        "sysServices 72",
        # Keep the log short: no line per request.
        "dontLogTCPWrappersConnects yes",
        "",
        extra_conf,
        "",
    ]
    return "\n".join(lines)


def start_snmpd(
    tmp_path: Path,
    community: str = "public",
    extra_conf: str = "",
    ipv6: bool = False,
    full_community: Optional[str] = None,
    stable_community: Optional[str] = None,
    exclude: Optional[Iterable[str]] = None,
    snmpd: str = SNMPD,
) -> Agent:
    """Start net-snmp's snmpd on 127.0.0.1 (and [::1] if ``ipv6``) at a free
    UDP port and wait until it answers.

    Three read-only communities:

    * ``community``: the whole tree minus VOLATILE_SUBTREES (or minus
      ``exclude``): counters, uptime, interfaces, storage, UCD memory are there;
    * ``full_community`` (default ``<community>-full``): everything;
    * ``stable_community`` (default ``<community>-stable``): also without
      CHANGING_SUBTREES, so two walks of it are identical (~5,000 varbinds).

    Config, log, pid file and persistent state live in a fresh directory under
    ``tmp_path``.
    """
    if not os.access(snmpd, os.X_OK):
        raise AgentError(f"{snmpd} not found: install the Debian package 'snmpd' (scripts/test.sh does)")
    if ipv6 and not ipv6_available():
        raise AgentError("ipv6=True, but ::1 cannot be bound on this host")
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    excluded = _oids(VOLATILE_SUBTREES) if exclude is None else tuple(exclude)
    stable_excluded = excluded + _oids(CHANGING_SUBTREES)
    full = full_community or f"{community}-full"
    stable = stable_community or f"{community}-stable"

    def start_once(attempt: int) -> Agent:
        workdir = Path(tempfile.mkdtemp(prefix="snmpd-", dir=tmp_path))
        port = free_udp_port(ipv6=ipv6)
        conf = workdir / "snmpd.conf"
        conf.write_text(
            snmpd_config(port, community, full, stable, ipv6, excluded, stable_excluded, extra_conf)
        )
        log_path = workdir / "snmpd.log"
        env = netsnmp_env(workdir)
        cmd = [
            snmpd,
            "-f",  # foreground
            "-C",  # no default config files (/etc/snmp/snmpd.conf, ...)
            "-c", str(conf),
            "-Lf", str(log_path),
            "-p", str(workdir / "snmpd.pid"),
            "-M", str(workdir / "netsnmp-conf"),  # an empty MIB dir: no MIB parsing
            "-m", "",
        ]
        # snmpd logs to -Lf; its stdout file only ever holds early start-up
        # errors. A port it cannot bind is logged there and it exits at once.
        process, log_file = _spawn(cmd, env, workdir / "snmpd.stdout", workdir)
        agent = Agent(
            "snmpd",
            process,
            "127.0.0.1",
            port,
            community,
            workdir,
            log_path,
            log_file,
            host6="::1" if ipv6 else None,
            full_community=full,
            stable_community=stable,
        )
        agent._env = env
        return agent

    return _start_with_retries(start_once)


# ---------------------------------------------------------------------------
# snmpsim
# ---------------------------------------------------------------------------


def snmpsim_command() -> Path:
    """snmpsim-command-responder of the environment running this interpreter
    (the project venv: ``pip install -e '.[test]'`` installs it). Not resolved:
    sys.executable of a venv is a symlink whose directory is the venv's bin/."""
    return Path(sys.executable).parent / "snmpsim-command-responder"


def recording_names(data_dir: Path) -> list[str]:
    """The communities snmpsim serves for ``data_dir``: the ``*.snmprec`` stems."""
    return sorted(p.stem for p in Path(data_dir).glob("*.snmprec"))


def start_snmpsim(
    data_dir: Path,
    tmp_path: Path,
    ipv6: bool = False,
    log_level: str = "error",
    extra_args: Sequence[str] = (),
) -> Agent:
    """Start snmpsim replaying every ``*.snmprec`` in ``data_dir`` (read only;
    the indexes go to a cache dir under ``tmp_path``) on 127.0.0.1 (and [::1]
    if ``ipv6``) at a free UDP port, and wait until it answers.

    SNMPv1/v2c community = recording file stem. SNMPv3: snmpsim's default user
    ``simulator``, auth MD5 ``auctoritas``, priv DES ``privatus``, context name =
    file stem (change with extra_args, e.g. ``--v3-user``...).
    ``log_level="info"`` logs every request (slower, big logs).
    """
    command = snmpsim_command()
    if not command.exists():
        raise AgentError(
            f"{command} not found: install the test extras into this environment "
            f"(scripts/bootstrap.sh --test, i.e. pip install -e '.[test]')"
        )
    data_dir = Path(data_dir)
    names = recording_names(data_dir)
    if not names:
        raise AgentError(f"no *.snmprec recordings in {data_dir}")
    if ipv6 and not ipv6_available():
        raise AgentError("ipv6=True, but ::1 cannot be bound on this host")
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    cache_dir = tmp_path / "snmpsim-cache"  # shared by retries: the index survives
    cache_dir.mkdir(exist_ok=True)
    community = "linux_icecast" if "linux_icecast" in names else names[0]

    def start_once(attempt: int) -> Agent:
        workdir = Path(tempfile.mkdtemp(prefix="snmpsim-", dir=tmp_path))
        port = free_udp_port(ipv6=ipv6)
        env = netsnmp_env(workdir)
        env["SNMPSIM_ALLOW_ROOT"] = "true"  # it refuses to run as root otherwise
        env["PYTHONUNBUFFERED"] = "1"
        cmd = [
            str(command),
            f"--data-dir={data_dir}",
            f"--cache-dir={cache_dir}",
            f"--agent-udpv4-endpoint=127.0.0.1:{port}",
            f"--log-level={log_level}",
            *( [f"--agent-udpv6-endpoint=[::1]:{port}"] if ipv6 else [] ),
            *extra_args,
        ]
        log_path = workdir / "snmpsim.log"
        process, log_file = _spawn(cmd, env, log_path, workdir)
        return Agent(
            "snmpsim",
            process,
            "127.0.0.1",
            port,
            community,
            workdir,
            log_path,
            log_file,
            host6="::1" if ipv6 else None,
            communities=names,
        )

    return _start_with_retries(start_once)
