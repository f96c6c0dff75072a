"""A throw-away lab of real net-snmp agents with large interface tables.

Each agent is a Linux network namespace holding:

  * ``lo`` and ``up0``: one end of a veth pair whose other end (``ebnI``) is in
    the root namespace. ``ebnI`` has 10.200.I.1/30, ``up0`` has 10.200.I.2/30, so
    the agent is reachable from the root namespace over that veth pair only;
  * M more interfaces: M/2 veth pairs ``vJa``/``vJb`` with both ends inside the
    namespace (the kernel here has veth but no ``dummy`` driver), all up, each
    with an ``ifAlias``;
  * its own ``/usr/sbin/snmpd`` in the foreground (``ip netns exec``), with its
    own snmpd.conf, log and persistent directory under one temporary directory,
    listening on udp:10.200.I.2:161 only, community ``public`` (read-only, only
    for 10.200.I.0/30).

Safety: 10.200.0.0/16 exists only on the veth pairs made here. While the lab is
up, an ``unreachable 10.200.0.0/16`` route in the root namespace makes sure a
packet for an agent whose veth has gone can never take the default route off
the machine. IPv6 is disabled on every interface the lab makes, so nothing but
the pollers' UDP talks on them. The lab refuses to start if the root namespace
already routes or owns anything in 10.200.0.0/16 (other than a previous lab's
leftovers, which it removes), and a lock file keeps two labs from running at once.

Everything is removed on exit (context manager, also on Ctrl-C/SIGTERM through
the caller's try/finally): the agents are stopped, the root-side veth ends are
deleted (which deletes their peers), the namespaces are deleted (which deletes
the inner veth pairs), the guard route and the temporary directory are removed.
Every subprocess has a timeout and every wait loop a deadline.

Run it alone to keep a lab up for poking at it by hand::

    python bench/snmp_lab.py --agents 2 --interfaces 10 --hold 60
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import fcntl
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NS_PREFIX = "eyenet-bench-"
HOST_IF_PREFIX = "ebn"  # root-side veth ends: ebn0 .. ebn249
NET = ipaddress.ip_network("10.200.0.0/16")
GUARD_METRIC = 4242
LOCK_PATH = "/run/eyenet-bench-lab.lock"
SNMPD = "/usr/sbin/snmpd"
MAX_AGENTS = 250
MAX_INTERFACES = 4000
# net-snmp 5.9 on Linux serves 18 of the 19 ifXTable columns: everything but
# ifLinkUpDownTrapEnable (.14). Walk results are checked against this x interfaces.
IFX_COLUMNS = 18
IFX_TABLE = "1.3.6.1.2.1.31.1.1"

_PR_SET_PDEATHSIG = 1


# The SNMPv3 user every agent has: SHA-256 authentication, AES-128 privacy (a bench lab's own).
V3_USER, V3_AUTH, V3_PRIV = "bench", "bench-auth-pass", "bench-priv-pass"


def _child_setup() -> None:
    """In each child before exec: its own session (so a Ctrl-C on the terminal
    reaches only the benchmark, which then stops its children in order), and
    SIGKILL if the benchmark dies without cleaning up."""
    os.setsid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def spawn(argv: list[str], **kw) -> subprocess.Popen:
    """Popen with _child_setup; stdin closed unless given."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(argv, preexec_fn=_child_setup, **kw)


def stop_process(proc: subprocess.Popen | None, grace: float = 3.0) -> None:
    """SIGTERM, wait up to grace seconds, then SIGKILL; only this process id."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    except ProcessLookupError:
        pass


class LabError(RuntimeError):
    pass


def _run(argv: list[str], *, input: str | None = None, timeout: float = 30.0, check: bool = True) -> str:
    try:
        res = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=max(timeout, 0.5))
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv[:4])} ... did not finish in {timeout:.0f} s") from None
    if check and res.returncode != 0:
        raise LabError(f"{' '.join(argv[:6])} failed ({res.returncode}): {res.stderr.strip()[:2000]}")
    return res.stdout


def _ip_batch(lines: list[str], *, netns: str | None = None, timeout: float = 60.0, force: bool = False) -> None:
    if not lines:
        return
    argv = ["ip"] + (["-n", netns] if netns else []) + (["-force"] if force else []) + ["-batch", "-"]
    _run(argv, input="\n".join(lines) + "\n", timeout=timeout, check=not force)


def _snmp_get_probe(request_id: int) -> bytes:
    """A hand-built SNMPv2c GetRequest for sysUpTime.0, community 'public'."""
    rid = request_id.to_bytes(4, "big")
    vb = bytes.fromhex("300c06082b06010201010300" "0500")
    vbl = b"\x30" + bytes([len(vb)]) + vb
    pdu_body = b"\x02\x04" + rid + b"\x02\x01\x00\x02\x01\x00" + vbl
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    body = b"\x02\x01\x01" + b"\x04\x06public" + pdu
    return b"\x30" + bytes([len(body)]) + body


@dataclass
class Agent:
    index: int
    netns: str
    host_if: str
    host_addr: str
    addr: str
    workdir: Path
    pairs: int
    proc: subprocess.Popen | None = None
    interfaces: int = 0  # as counted in the namespace once it is up (lo + up0 + 2 * pairs)

    @property
    def expected_ifx_varbinds(self) -> int:
        return IFX_COLUMNS * self.interfaces


@dataclass
class Lab:
    agents_wanted: int = 20
    interfaces_wanted: int = 100
    setup_timeout: float = 300.0
    log: callable = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))
    agents: list[Agent] = field(default_factory=list)
    workdir: Path | None = None
    setup_seconds: float = 0.0
    teardown_seconds: float = 0.0
    stale_removed: list[str] = field(default_factory=list)
    _lock_fd: int | None = None
    _guard_added: bool = False
    _namespaces_made: list[str] = field(default_factory=list)
    _host_ifs_made: list[str] = field(default_factory=list)

    # -- public ---------------------------------------------------------------

    def __enter__(self) -> "Lab":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def hosts(self) -> list[str]:
        return [a.addr for a in self.agents]

    @property
    def expected_ifx_varbinds(self) -> int:
        return sum(a.expected_ifx_varbinds for a in self.agents)

    def start(self) -> None:
        t0 = time.monotonic()
        deadline = t0 + self.setup_timeout
        self._preflight()
        self._lock()
        self._remove_stale(deadline)
        self._check_address_space()
        self.workdir = Path(tempfile.mkdtemp(prefix="eyenet-bench-lab-"))
        pairs = (self.interfaces_wanted + 1) // 2
        if pairs * 2 != self.interfaces_wanted:
            self.log(f"lab: --interfaces {self.interfaces_wanted} is odd; making {pairs * 2} (veth come in pairs)")
        for i in range(self.agents_wanted):
            d = self.workdir / f"agent{i}"
            (d / "persist").mkdir(parents=True)
            self.agents.append(
                Agent(
                    index=i,
                    netns=f"{NS_PREFIX}{i}",
                    host_if=f"{HOST_IF_PREFIX}{i}",
                    host_addr=f"10.200.{i}.1",
                    addr=f"10.200.{i}.2",
                    workdir=d,
                    pairs=pairs,
                )
            )
        # The guard route first, so nothing for 10.200/16 can ever leave by the default route.
        _run(["ip", "route", "replace", "unreachable", str(NET), "metric", str(GUARD_METRIC)], timeout=10)
        self._guard_added = True
        self._make_namespaces(deadline)
        self._make_links(deadline)
        self._start_agents(deadline)
        self._wait_ready(deadline)
        self.setup_seconds = time.monotonic() - t0
        self.log(
            f"lab: {len(self.agents)} agents x {self.agents[0].interfaces if self.agents else 0} interfaces "
            f"up in {self.setup_seconds:.1f} s (work dir {self.workdir})"
        )

    def check_routes(self) -> None:
        """Before traffic: every agent's address is routed over its own veth, which is up."""
        for a in self.agents:
            state = Path(f"/sys/class/net/{a.host_if}/operstate")
            try:
                up = state.read_text().strip() in ("up", "unknown")
            except OSError:
                up = False
            if not up:
                raise LabError(f"{a.host_if} (to agent {a.addr}) is gone or down")
            if a.proc is None or a.proc.poll() is not None:
                raise LabError(f"snmpd of agent {a.index} ({a.addr}) has exited; see {a.workdir / 'snmpd.log'}")

    def confine_agents(self) -> str:
        """Keep the agents off the poller's back: every snmpd on the machine's last core only,
        as SCHED_BATCH (never preempts a running task when woken). Left as they are, 20 agents
        woken by the poller's requests preempt its event loop on whichever core it runs (a
        batch task is not chosen over the running one) and take its cache; agents that stand
        on other machines, as real ones do, cost the poller neither. Returns what was done."""
        last = max(os.sched_getaffinity(0))
        for a in self.agents:
            os.sched_setaffinity(a.proc.pid, {last})
            os.sched_setscheduler(a.proc.pid, os.SCHED_BATCH, os.sched_param(0))
        return f"agents on cpu {last} only, SCHED_BATCH"

    def close(self) -> None:
        """Tear everything down; safe to call twice and on a half-made lab. Ignores
        Ctrl-C/SIGTERM while it runs, so a second Ctrl-C cannot leave debris."""
        t0 = time.monotonic()
        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                old[sig] = signal.signal(sig, signal.SIG_IGN)
            except ValueError:  # not the main thread
                pass
        try:
            for a in self.agents:
                if a.proc is not None and a.proc.poll() is None:
                    try:
                        a.proc.terminate()
                    except ProcessLookupError:
                        pass
            end = time.monotonic() + 5
            for a in self.agents:
                if a.proc is not None:
                    try:
                        a.proc.wait(timeout=max(0.05, end - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        a.proc.kill()
                        try:
                            a.proc.wait(timeout=5)
                        except subprocess.TimeoutExpired:
                            self.log(f"lab: snmpd pid {a.proc.pid} did not die")
            # Deleting the root end of a veth deletes its peer; deleting a namespace
            # deletes the veth pairs inside it.
            if self._host_ifs_made:
                self._quiet(lambda: _ip_batch([f"link del {n}" for n in self._host_ifs_made], force=True, timeout=60))
            if self._namespaces_made:
                self._quiet(lambda: _ip_batch([f"netns del {n}" for n in self._namespaces_made], force=True, timeout=120))
            leftover = [n for n in self._host_ifs_made if Path(f"/sys/class/net/{n}").exists()]
            if leftover:
                self.log(f"lab: root-side interfaces still present after teardown: {leftover}")
            self._host_ifs_made = []
            self._namespaces_made = []
            if self._guard_added:
                self._quiet(
                    lambda: _run(["ip", "route", "del", "unreachable", str(NET), "metric", str(GUARD_METRIC)], timeout=10)
                )
                self._guard_added = False
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            self.teardown_seconds = time.monotonic() - t0

    # -- steps ----------------------------------------------------------------

    def _quiet(self, fn) -> None:
        try:
            fn()
        except Exception as exc:  # teardown goes on whatever fails
            self.log(f"lab: teardown step failed: {exc}")

    def _preflight(self) -> None:
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces, veth): run it as root")
        for tool in ("ip", SNMPD):
            if shutil.which(tool) is None:
                raise LabError(f"{tool} not found: apt-get install iproute2 snmpd")
        if not 1 <= self.agents_wanted <= MAX_AGENTS:
            raise LabError(f"--agents must be 1..{MAX_AGENTS} (one 10.200.I.0/30 each)")
        if not 0 <= self.interfaces_wanted <= MAX_INTERFACES:
            raise LabError(f"--interfaces must be 0..{MAX_INTERFACES}")

    def _lock(self) -> None:
        fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise LabError(f"another lab is running (lock {LOCK_PATH} is held)") from None
            raise
        self._lock_fd = fd

    def _remove_stale(self, deadline: float) -> None:
        """Leftovers of a lab that was killed before it could clean up (we hold the lock,
        so no live lab owns them): its namespaces, root-side veths and guard route."""
        names = [line.split()[0] for line in _run(["ip", "netns", "list"], timeout=10).splitlines() if line.strip()]
        stale_ns = [n for n in names if n.startswith(NS_PREFIX)]
        for ns in stale_ns:
            # Processes left in a lab namespace are a dead lab's snmpd: end them by id.
            for pid in _run(["ip", "netns", "pids", ns], timeout=10, check=False).split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        stale_if = [
            n for n in os.listdir("/sys/class/net")
            if n.startswith(HOST_IF_PREFIX) and n[len(HOST_IF_PREFIX):].isdigit() and _is_veth(n)
        ]
        if stale_if:
            _ip_batch([f"link del {n}" for n in stale_if], force=True, timeout=max(1, deadline - time.monotonic()))
        if stale_ns:
            _ip_batch([f"netns del {n}" for n in stale_ns], force=True, timeout=max(1, deadline - time.monotonic()))
        _run(["ip", "route", "del", "unreachable", str(NET), "metric", str(GUARD_METRIC)], timeout=10, check=False)
        stale_dirs = sorted(Path(tempfile.gettempdir()).glob("eyenet-bench-lab-*"))
        for d in stale_dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.stale_removed = stale_ns + stale_if + [str(d) for d in stale_dirs]
        if self.stale_removed:
            self.log(f"lab: removed leftovers of an earlier run: {self.stale_removed}")

    def _check_address_space(self) -> None:
        """Refuse to run where 10.200.0.0/16 means something in the root namespace."""
        for line in _run(["ip", "-4", "-o", "route", "show", "table", "all"], timeout=10).splitlines():
            words = line.split()
            if not words:
                continue
            dest = words[1] if words[0] in ("unreachable", "blackhole", "prohibit", "local", "broadcast") else words[0]
            if dest == "default":
                continue
            try:
                net = ipaddress.ip_network(dest, strict=False)
            except ValueError:
                continue
            if net.overlaps(NET):
                raise LabError(f"the root namespace already routes {net} ({line.strip()}): the lab uses {NET}; not starting")
        for line in _run(["ip", "-4", "-o", "addr", "show"], timeout=10).splitlines():
            words = line.split()
            if "inet" in words:
                addr = ipaddress.ip_interface(words[words.index("inet") + 1])
                if addr.network.overlaps(NET):
                    raise LabError(f"{words[1]} already has {addr}: the lab uses {NET}; not starting")

    def _make_namespaces(self, deadline: float) -> None:
        self.log(f"lab: creating {len(self.agents)} namespaces")
        for a in self.agents:
            _run(["ip", "netns", "add", a.netns], timeout=max(1, deadline - time.monotonic()))
            self._namespaces_made.append(a.netns)
            # No IPv6 on anything made in the namespace (no DAD, RS, MLD chatter).
            _run(
                ["ip", "netns", "exec", a.netns, "sh", "-c",
                 "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6"],
                timeout=max(1, deadline - time.monotonic()), check=False,
            )
            if time.monotonic() > deadline:
                raise LabError("setup took longer than --setup-timeout")

    def _make_links(self, deadline: float) -> None:
        # Root side: one veth pair per agent, peer straight into the namespace.
        batch = []
        for a in self.agents:
            batch.append(f"link add {a.host_if} type veth peer name up0 netns {a.netns}")
        self._host_ifs_made = [a.host_if for a in self.agents]
        _ip_batch(batch, timeout=max(1, deadline - time.monotonic()))
        for a in self.agents:
            try:
                Path(f"/proc/sys/net/ipv6/conf/{a.host_if}/disable_ipv6").write_text("1\n")
            except OSError:
                pass
        batch = []
        for a in self.agents:
            batch.append(f"addr add {a.host_addr}/30 dev {a.host_if}")
            batch.append(f"link set {a.host_if} up")
        _ip_batch(batch, timeout=max(1, deadline - time.monotonic()))
        # Inside each namespace: the uplink end, then the veth pairs.
        self.log(f"lab: creating {self.agents[0].pairs * 2 if self.agents else 0} veth interfaces in each namespace")
        for a in self.agents:
            batch = [
                "link set lo up",
                f"addr add {a.addr}/30 dev up0",
                "link set up0 alias uplink-to-poller",
                "link set up0 up",
            ]
            for j in range(a.pairs):
                batch.append(f"link add v{j}a type veth peer name v{j}b")
            for j in range(a.pairs):
                batch.append(f"link set v{j}a alias bench-port-{j}a-to-{j}b")
                batch.append(f"link set v{j}b alias bench-port-{j}b-to-{j}a")
                batch.append(f"link set v{j}a up")
                batch.append(f"link set v{j}b up")
            _ip_batch(batch, netns=a.netns, timeout=max(1, deadline - time.monotonic()))
            out = _run(["ip", "-n", a.netns, "-o", "link", "show"], timeout=max(1, deadline - time.monotonic()))
            a.interfaces = sum(1 for line in out.splitlines() if line.strip())
            if a.interfaces != 2 + 2 * a.pairs:
                raise LabError(f"{a.netns} has {a.interfaces} interfaces, expected {2 + 2 * a.pairs}")
            if time.monotonic() > deadline:
                raise LabError("setup took longer than --setup-timeout")
        # Every agent address must now be routed over its own veth, nowhere else.
        for a in self.agents:
            out = _run(["ip", "-o", "route", "get", a.addr], timeout=10)
            if f" dev {a.host_if} " not in out:
                raise LabError(f"{a.addr} is not routed over {a.host_if}: {out.strip()}")

    def _start_agents(self, deadline: float) -> None:
        self.log(f"lab: starting {len(self.agents)} snmpd")
        for a in self.agents:
            conf = a.workdir / "snmpd.conf"
            conf.write_text(
                f"# eyenet bench agent {a.index}: only on its veth address, read-only community for the poller side\n"
                f"agentAddress udp:{a.addr}:161\n"
                f"rocommunity public {a.host_addr.rsplit('.', 1)[0]}.0/30\n"
                f"sysName bench-agent-{a.index}\n"
                f"sysLocation eyenet bench lab\n"
                f"sysContact nobody\n"
                # SNMPv3 authPriv for walk_throughput's v3 pollers (net-snmp spells SHA-256 so too).
                f"createUser {V3_USER} SHA-256 {V3_AUTH} AES {V3_PRIV}\n"
                f"rouser {V3_USER} priv\n"
            )
            env = dict(os.environ, SNMP_PERSISTENT_DIR=str(a.workdir / "persist"), MIBS="", MIBDIRS="/nonexistent")
            log = open(a.workdir / "snmpd.stdout", "wb")
            try:
                # ip netns exec execs snmpd in place: proc.pid is snmpd's pid.
                a.proc = spawn(
                    ["ip", "netns", "exec", a.netns, SNMPD, "-f", "-C", "-c", str(conf), "-m", "", "-M", "/nonexistent",
                     "-Lf", str(a.workdir / "snmpd.log"), "-p", str(a.workdir / "snmpd.pid")],
                    env=env, stdout=log, stderr=subprocess.STDOUT,
                )
            finally:
                log.close()

    def _wait_ready(self, deadline: float) -> None:
        pending = {a.addr: a for a in self.agents}
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(0.2)
        try:
            rid = 0x5EED0000
            tries = 0
            while pending and time.monotonic() < deadline and tries < 1000:
                tries += 1
                for addr, a in list(pending.items()):
                    if a.proc.poll() is not None:
                        raise LabError(f"snmpd for {addr} exited ({a.proc.returncode}); see {a.workdir / 'snmpd.log'}")
                    sock.sendto(_snmp_get_probe(rid + a.index), (addr, 161))
                end = time.monotonic() + 0.3
                while pending and time.monotonic() < end:
                    try:
                        _, (src, _) = sock.recvfrom(4096)
                    except socket.timeout:
                        continue
                    pending.pop(src, None)
        finally:
            sock.close()
        if pending:
            raise LabError(f"agents did not answer in time: {sorted(pending)}")
        self.check_routes()


def _is_veth(name: str) -> bool:
    out = _run(["ip", "-d", "-o", "link", "show", "dev", name], timeout=10, check=False)
    return " veth " in out


def in_lab(lab: Lab, body, log=lambda msg: print(msg, file=sys.stderr, flush=True)) -> int:
    """body(lab) with the lab up, and torn down on every way out, a SIGTERM included (it
    interrupts as Ctrl-C does). The exit status: 0; 130 interrupted; 2 no lab (log says why)."""

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        with lab:
            body(lab)
    except KeyboardInterrupt:
        log("interrupted; lab torn down")
        return 130
    except LabError as exc:
        log(f"lab: {exc}")
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Bring up the SNMP agent lab, hold it, tear it down.")
    p.add_argument("--agents", type=int, default=2)
    p.add_argument("--interfaces", type=int, default=10)
    p.add_argument("--hold", type=float, default=30.0, help="seconds to keep the lab up (max 3600)")
    p.add_argument("--setup-timeout", type=float, default=300.0)
    args = p.parse_args(argv)

    def hold(lab: Lab) -> None:
        for a in lab.agents:
            print(f"{a.netns}: snmpd pid {a.proc.pid} at {a.addr}:161, {a.interfaces} interfaces, via {a.host_if}")
        print(f"try: snmpbulkwalk -v2c -c public -Cr25 -On -Oq {lab.hosts[0]} {IFX_TABLE}")
        time.sleep(max(0.0, min(args.hold, 3600.0)))

    lab = Lab(args.agents, args.interfaces, setup_timeout=args.setup_timeout)
    code = in_lab(lab, hold)
    if code == 0:
        print(f"lab torn down in {lab.teardown_seconds:.1f} s", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
