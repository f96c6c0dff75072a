"""A lab of network namespaces joined by veth links, each running lldpd and snmpd.

Plain Python (no pytest), like ``tests/agents.py``: tests use it as a context
manager, bench scripts can import it too (``sys.path`` must hold ``tests/``).
Needs root, ``ip`` (iproute2), ``/usr/sbin/snmpd`` and ``/usr/sbin/lldpd`` +
``/usr/sbin/lldpcli`` (Debian package ``lldpd``; scripts/test.sh installs all).

::

    with LldpLab(tmp_path) as lab:
        r1 = lab.add_node("r1", capabilities=("router",))
        s1 = lab.add_node("s1")                        # a bridge
        link = lab.link(r1, s1, "eth1", "eth1")
        wait_until(lambda: r1.lldp_neighbours() == {("eth1", "s1", "eth1")}, 10, "r1 sees s1")
        agents.snmpwalk(r1.snmpd, LLDP_REM_TABLE)       # from the root namespace
        lab.cut(link)                                  # both ends gone
        wait_until(lambda: not r1.lldp_neighbours(), 10, "s1 gone from r1")

Each node is a network namespace ``en-<lab prefix>-<name>`` (the prefix is
random per lab, so parallel runs and leftovers of killed runs never clash)
holding:

* ``mgmt0``: one end of a management veth pair whose other end
  (``en<prefix><n>``) is in the root namespace, with a /30 of its own out of
  10.231.0.0/16 (``node.host_address`` root side, ``node.address`` node side);
  the /30 is picked so that it collides with nothing in the root namespace,
  under a lock shared by all labs on the machine;
* snmpd (net-snmp) on ``udp:<node.address>:161``, read-only community
  ``public`` for the root side of its /30 (and 127.0.0.1), ``sysName`` =
  the node's system name, and ``master agentx`` on a Unix socket of its own,
  ``/run/eyenet-lldp-lab/<prefix>/<name>/agentx.sock`` (not in workdir: see
  LldpLab._run_dir);
* lldpd as that snmpd's AgentX subagent (``-x -X <socket>``): LLDP-MIB
  (1.0.8802.1.1.2) is served by the node's snmpd. It speaks LLDP on the data
  ports only: mgmt0 is one of its ports but with ``lldp status disabled`` (no
  LLDPDU sent or taken there, so the root namespace never sees LLDP), because
  that is what gives every node a chassis ID of its own that never changes:
  mgmt0's MAC (``-C mgmt0``, subtype macAddress). lldpd only takes a chassis
  ID from a port it manages; leaving mgmt0 out (``-I '*,!mgmt0'``) makes every
  node fall back to ``local <the host's uname -n>``, the same on all nodes,
  and taking it from the data ports would change it when a link is cut. It
  advertises ``node.address`` as its management address (``-m``; neighbours
  list it in lldpRemManAddrTable), uses interface names as port IDs
  (subtype interfaceName) and descriptions, and sends every ``tx_interval``
  (1 s) with TTL ``tx_interval * tx_hold`` (4 s);
* data ports: veth pairs made by ``lab.link()``, one end in each node.

``lab.cut(link)`` deletes the veth pair (``how="down"`` sets both ends down
instead); ``lab.restore(link)`` brings it back (``same_index=True``: under the
ifIndexes it had). ``lab.link(..., addresses=True)`` gives a link a /30 of
10.232.0.0/16 (inside the namespaces only), over which ``lab.traffic(link, ...)``
sends paced UDP, bounded in octets and time (``tests/lab_traffic.py``). ``lab.remove_node(node)`` stops
the node's daemons and deletes its namespace (its links go with it).

Every process runs in the foreground with its log under ``workdir/<name>/``
(snmpd.log, lldpd.log); ``lab.describe()`` gives the state and the log tails
for a failure message. ``close()`` (the context manager's exit, also after a
failure, and atexit for a lab left open) stops every process by its pid, kills
what is left in the lab's namespaces by pid, deletes the namespaces, the
root-side veths and the lab's guard route (``unreachable 10.231.0.0/16``, so
that nothing for a deleted node takes the default route off the machine). Each
live lab holds a lock on ``/run/eyenet-lldp-lab/<prefix>.lock``, so the
leftovers of a dead one are known: if the process running the lab dies
outright (SIGKILL, a CI timeout), the lab's watchdog (a small Python process
reading a pipe from the lab until EOF) removes them at once, and the next lab
to start removes whatever is still there. Every subprocess has a timeout and every
wait a deadline. The methods block (for at most a few seconds each): call them
from a synchronous fixture, or from Trio with ``trio.to_thread.run_sync``.

lldpd 1.0.16 (Debian 12) notes: ``-u`` gives each lldpd its own control
socket (the default /run/lldpd.socket would make the second lldpd refuse to
start, "another instance is running"); ``-p`` keeps it off /run/lldpd.pid;
``-O`` points lldpcli at our configuration only (not /etc/lldpd.conf and
/etc/lldpd.d); ``-ddd`` keeps it in the foreground, logging to stderr only,
at info level. Its privilege-separated child is chrooted in /run/lldpd (lldpd
creates that directory), but the AgentX socket is opened by the privileged
monitor process, which runs as root outside the chroot: snmpd's default socket
mode (0755, owned by root) is enough, no ``agentXPerms`` needed. (The
monitor is not root either: it switches to ``_lldpd`` keeping CAP_NET_RAW,
CAP_NET_ADMIN and CAP_DAC_OVERRIDE, and the switch clears the parent-death
signal the lab sets on its children: hence the watchdog.) The lldpcli
that lldpd runs at start to apply ``-O`` runs as the unprivileged ``_lldpd``
user, though: the control socket and the configuration file must be reachable
by it, hence a per-node directory under /run/eyenet-lldp-lab (0755) rather
than pytest's tmp_path (0700). Nothing is sent before that configuration is
applied (lldpd starts paused until lldpcli says "resume").
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import fcntl
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable, NamedTuple, Optional, Sequence, Union

try:  # imported as "tests.lldp_lab" or, with tests/ on sys.path, as "lldp_lab"
    from . import agents
except ImportError:  # pragma: no cover
    import agents  # type: ignore[no-redef]

IP = "ip"
SNMPD = agents.SNMPD
LLDPD = "/usr/sbin/lldpd"
LLDPCLI = "/usr/sbin/lldpcli"

NETWORK = "10.231.0.0/16"
# Addresses of links made with addresses=True: inside the lab's namespaces only (never
# routed in the root namespace), a /30 each in the order the links are made.
DATA_NETWORK = "10.232.0.0"
NS_PREFIX = "en-"  # namespaces: en-<lab prefix>-<node name>
ROOT_IF_PREFIX = "en"  # root-side management veths: en<lab prefix><node number>
MGMT_IF = "mgmt0"
LOCK_DIR = Path("/run/eyenet-lldp-lab")
GUARD_METRIC_BASE = 42310000  # + the lab prefix as a number: one guard route per lab

COMMUNITY = "public"
SNMP_PORT = 161
# What lldpd 1.0.16 lets `configure system capabilities enabled` set on Linux
# (its "available" capabilities; others are refused).
CAPABILITIES = ("bridge", "router", "wlan", "station")
# sysServices per capability (RFC 3418: 2 = datalink, 4 = internet, 64 = applications).
_SYS_SERVICES = {"bridge": 2, "router": 4, "wlan": 2, "station": 64}

# LLDP-MIB (IEEE 802.1AB-2005, lldpMIB = 1.0.8802.1.1.2).
LLDP_MIB = "1.0.8802.1.1.2"
LLDP_LOC_CHASSIS_ID = "1.0.8802.1.1.2.1.3.2.0"
LLDP_LOC_SYS_NAME = "1.0.8802.1.1.2.1.3.3.0"
LLDP_LOC_SYS_CAP_ENABLED = "1.0.8802.1.1.2.1.3.6.0"
LLDP_LOC_PORT_TABLE = "1.0.8802.1.1.2.1.3.7"  # lldpLocPortEntry: .1.<column>.<lldpLocPortNum>
LLDP_LOC_PORT_ID = "1.0.8802.1.1.2.1.3.7.1.3"
LLDP_REM_TABLE = "1.0.8802.1.1.2.1.4.1"  # lldpRemEntry: .1.<column>.<timeMark>.<localPortNum>.<index>
LLDP_REM_MAN_ADDR_TABLE = "1.0.8802.1.1.2.1.4.2"
# lldpRemEntry columns
REM_CHASSIS_ID_SUBTYPE = 4
REM_CHASSIS_ID = 5
REM_PORT_ID_SUBTYPE = 6
REM_PORT_ID = 7
REM_PORT_DESC = 8
REM_SYS_NAME = 9
REM_SYS_DESC = 10
REM_SYS_CAP_SUPPORTED = 11
REM_SYS_CAP_ENABLED = 12

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")
_PORT = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$")

# lldpd log lines that mean it runs, but not the way the lab configured it.
_LLDPD_FAILURES = ("[CRIT/", "[WARN/control]", "[WARN/lldpctl]")

START_TIMEOUT = 20.0  # snmpd answering, lldpd registered and configured
CMD_TIMEOUT = 20.0  # one `ip` command


class LabError(RuntimeError):
    """The lab could not be built or changed; the message says why (with logs)."""


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def _run(argv: Sequence[str], *, timeout: float = CMD_TIMEOUT, check: bool = True, input: Optional[str] = None) -> str:
    try:
        res = subprocess.run(
            list(argv), input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=max(timeout, 0.5),
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s") from None
    if check and res.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed with status {res.returncode}: {res.stderr.strip()[:2000]}")
    return res.stdout


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1,
               describe: Optional[Callable[[], str]] = None) -> object:
    """Call ``predicate`` until it returns something true (returned) or ``timeout``
    seconds pass (LabError naming ``what``, with ``describe()`` appended)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            extra = f"\n{describe()}" if describe is not None else ""
            raise LabError(f"timed out after {timeout:.1f} s waiting for {what}{extra}")
        time.sleep(interval)


def _die_with_parent() -> None:  # in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(argv: Sequence[str], log_file: IO[bytes], env: Optional[dict] = None,
           cwd: Optional[Path] = None) -> subprocess.Popen:
    # PDEATHSIG fires when the *thread* that forked exits: only from the main
    # thread (a worker thread of trio.to_thread may exit while the lab is up).
    main = threading.current_thread() is threading.main_thread()
    return subprocess.Popen(
        list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=_die_with_parent if main and sys.platform == "linux" else None,
    )


_stop = agents.stop_process


def _tail(path: Path, size: int = 3000) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"({path}: {exc.strerror})"
    text = data[-size:].decode(errors="replace")
    return ("..." if len(data) > size else "") + text


def _netns_pids(netns: str) -> list[int]:
    out = _run([IP, "netns", "pids", netns], timeout=10, check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def _netns_exists(netns: str) -> bool:
    return Path("/run/netns", netns).exists()


def _disable_ipv6(netns: Optional[str], ifname: str = "") -> None:
    """No IPv6 (no DAD, router solicitations, MLD) on what the lab makes: only
    LLDP and the pollers' UDP talk on it. Best effort (IPv6 may be off anyway)."""
    paths = [f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"] if ifname else [
        "/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"]
    if netns is None:
        for p in paths:
            try:
                Path(p).write_text("1\n")
            except OSError:
                pass
    else:
        script = "; ".join(f"echo 1 > {p}" for p in paths) + "; true"
        _run([IP, "netns", "exec", netns, "sh", "-c", script], timeout=10, check=False)


# ---------------------------------------------------------------------------
# reading LLDP-MIB over SNMP (net-snmp's tools, from the root namespace)
# ---------------------------------------------------------------------------


class Neighbour(NamedTuple):
    """One lldpRemTable row as seen by a node: its own port, the neighbour's
    system name and port ID (interface name: the lab's lldpd use ifname port IDs)."""

    local_port: str
    remote_name: str
    remote_port: str


def _walk(agent: agents.Agent, oid: str) -> list[agents.Varbind]:
    rows = agents.snmpwalk(agent, oid, timeout=1.0, retries=2)
    return [vb for vb in rows if vb[1] not in ("noSuchObject", "noSuchInstance", "endOfMibView")]


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def lldp_remote_rows(agent: agents.Agent) -> dict[tuple[int, ...], dict[int, object]]:
    """lldpRemTable of ``agent``: {(timeMark, localPortNum, remIndex): {column: value}}."""
    prefix = tuple(int(p) for p in LLDP_REM_TABLE.split(".")) + (1,)
    rows: dict[tuple[int, ...], dict[int, object]] = {}
    for oid, _type, value in _walk(agent, LLDP_REM_TABLE):
        if oid[: len(prefix)] != prefix or len(oid) != len(prefix) + 4:
            continue
        column, index = oid[len(prefix)], oid[len(prefix) + 1:]
        rows.setdefault(index, {})[column] = value
    return rows


def lldp_local_ports(agent: agents.Agent) -> dict[int, str]:
    """lldpLocPortTable of ``agent``: {lldpLocPortNum: lldpLocPortId} (the interface name)."""
    prefix = tuple(int(p) for p in LLDP_LOC_PORT_ID.split("."))
    return {
        oid[len(prefix)]: _text(value)
        for oid, _type, value in _walk(agent, LLDP_LOC_PORT_TABLE)
        if oid[: len(prefix)] == prefix and len(oid) == len(prefix) + 1
    }


def lldp_neighbours(agent: agents.Agent) -> set[Neighbour]:
    """Every LLDP neighbour ``agent`` lists, read from its LLDP-MIB with snmpwalk."""
    ports = lldp_local_ports(agent)
    return {
        Neighbour(ports.get(index[1], f"#{index[1]}"), _text(cols.get(REM_SYS_NAME, b"")),
                  _text(cols.get(REM_PORT_ID, b"")))
        for index, cols in lldp_remote_rows(agent).items()
    }


# ---------------------------------------------------------------------------
# the lab
# ---------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """One namespace of the lab: ``address``:``port`` answers SNMP v2c with
    ``community`` from the root namespace, LLDP-MIB included."""

    lab: "LldpLab" = field(repr=False)
    name: str
    number: int
    netns: str
    sys_name: str
    capabilities: tuple[str, ...]
    description: str
    workdir: Path
    run_dir: Path  # sockets and lldpd.conf: LOCK_DIR/<prefix>/<name>, see LldpLab._run_dir
    root_if: str
    host_address: str  # root side of the /30
    address: str  # the node's management address (mgmt0)
    subnet: ipaddress.IPv4Network
    port: int = SNMP_PORT
    community: str = COMMUNITY
    snmpd: Optional[agents.Agent] = field(default=None, repr=False)
    lldpd: Optional[subprocess.Popen] = field(default=None, repr=False)
    chassis_id: bytes = b""  # lldpLocChassisId: mgmt0's MAC
    removed: bool = False

    @property
    def agentx_socket(self) -> Path:
        return self.run_dir / "agentx.sock"

    @property
    def lldpd_socket(self) -> Path:
        return self.run_dir / "lldpd.ctl"

    @property
    def snmpd_log(self) -> Path:
        return self.workdir / "snmpd.log"

    @property
    def lldpd_log(self) -> Path:
        return self.workdir / "lldpd.log"

    def target(self) -> str:
        """The SNMP agent in net-snmp's syntax: ``udp:10.231.x.y:161``."""
        return f"udp:{self.address}:{self.port}"

    @property
    def ports(self) -> list[str]:
        """This node's data ports (a link set down keeps its ports, a deleted one not)."""
        names = []
        for link in self.lab.links:
            if link.state == "cut" or link.state == "removed":
                continue
            if link.a is self:
                names.append(link.a_port)
            if link.b is self:
                names.append(link.b_port)
        return sorted(names)

    def alive(self) -> bool:
        return (not self.removed and self.snmpd is not None and self.snmpd.alive()
                and self.lldpd is not None and self.lldpd.poll() is None)

    def check_alive(self) -> None:
        if self.removed:
            raise LabError(f"node {self.name} was removed")
        for what, proc in (("snmpd", self.snmpd.process if self.snmpd else None), ("lldpd", self.lldpd)):
            if proc is None or proc.poll() is not None:
                status = "never started" if proc is None else f"exited with status {proc.returncode}"
                raise LabError(f"{what} of node {self.name} {status}\n{self.log_text()}")

    def log_text(self, tail: int = 3000) -> str:
        """The ends of this node's snmpd and lldpd logs."""
        parts = []
        for path in (self.workdir / "snmpd.stdout", self.snmpd_log, self.lldpd_log):
            if path.exists():
                parts.append(f"--- {path} ---\n{_tail(path, tail)}")
        return "\n".join(parts)

    # -- reading the node ----------------------------------------------------
    def lldp_neighbours(self) -> set[Neighbour]:
        """The node's lldpRemTable over SNMP from the root namespace."""
        assert self.snmpd is not None
        return lldp_neighbours(self.snmpd)

    def lldpcli(self, *args: str, timeout: float = 10.0) -> str:
        """Run ``lldpcli -u <this node's control socket> ARGS`` (e.g. ``"show",
        "neighbors"``); returns its output. For logs and debugging."""
        return _run([LLDPCLI, "-u", str(self.lldpd_socket), *args], timeout=timeout)

    def __repr__(self) -> str:
        state = "removed" if self.removed else ("up" if self.alive() else "DEAD")
        return f"<Node {self.name} {self.netns} {self.address} sys_name={self.sys_name!r} {state}>"


@dataclass(eq=False)
class Link:
    """A veth pair: ``a_port`` in ``a``'s namespace, ``b_port`` in ``b``'s.
    ``state``: "up", "down" (cut with how="down"), "cut" (deleted) or
    "removed" (one of its nodes was removed)."""

    a: Node
    a_port: str
    b: Node
    b_port: str
    state: str = "up"
    mtu: Optional[int] = None
    # With an IPv4 /30 of its own (inside the two namespaces only: traffic between them).
    subnet: Optional[ipaddress.IPv4Network] = None
    a_index: int = 0  # each end's ifIndex in its namespace, as last made
    b_index: int = 0

    @property
    def b_address(self) -> str:
        """``b_port``'s address (links made with ``addresses=True``)."""
        if self.subnet is None:
            raise LabError(f"{self!r} has no addresses (make it with addresses=True)")
        return str(self.subnet[2])

    def ends(self) -> tuple[tuple[Node, str], tuple[Node, str]]:
        return (self.a, self.a_port), (self.b, self.b_port)

    def __repr__(self) -> str:
        return f"<Link {self.a.name}:{self.a_port} <-> {self.b.name}:{self.b_port} {self.state}>"


class Traffic:
    """A sender started by LldpLab.traffic()."""

    def __init__(self, process: subprocess.Popen, seconds: float) -> None:
        self.process = process
        self.seconds = seconds

    def wait(self) -> int:
        """Wait for the sender to finish (bounded by its seconds); the octets of payload it sent."""
        try:
            out, _ = self.process.communicate(timeout=self.seconds + CMD_TIMEOUT)
        except subprocess.TimeoutExpired:
            _stop(self.process)
            raise LabError(f"the traffic sender ran past its {self.seconds} s") from None
        if self.process.returncode != 0:
            raise LabError(f"the traffic sender failed ({self.process.returncode}): {out.strip()[-2000:]}")
        return int(out.split()[-1])

    def __enter__(self) -> "Traffic":
        return self

    def __exit__(self, *exc_info: object) -> None:
        _stop(self.process)

_OPEN_LABS: "set[LldpLab]" = set()


@atexit.register
def _close_leftover_labs() -> None:
    for lab in list(_OPEN_LABS):
        lab.close()


class LldpLab:
    """Network namespaces running lldpd + snmpd, joined by veth links.

    ``workdir``: where each node's configuration and logs go
    (``workdir/<node name>/``); it is kept after close() for the logs.
    ``tx_interval`` (s) and ``tx_hold``: lldpd's transmit interval and hold,
    so a neighbour that stops talking ages out after ``tx_interval * tx_hold``.
    """

    def __init__(
        self,
        workdir: Union[str, Path],
        *,
        network: str = NETWORK,
        tx_interval: int = 1,
        tx_hold: int = 4,
        start_timeout: float = START_TIMEOUT,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.network = ipaddress.ip_network(network)
        if self.network.version != 4 or self.network.prefixlen > 29:
            raise ValueError(f"network {network}: an IPv4 network of /29 or more is needed for /30 subnets")
        if tx_interval < 1 or tx_hold < 1:
            raise ValueError("tx_interval and tx_hold must be at least 1")
        self.tx_interval = int(tx_interval)
        self.tx_hold = int(tx_hold)
        self.start_timeout = start_timeout
        self.log = log or (lambda msg: None)
        self.prefix = ""
        self.nodes: dict[str, Node] = {}
        self.links: list[Link] = []
        self._count = 0
        self._removed: set[str] = set()
        self._lock = threading.RLock()
        self._lock_fd: Optional[int] = None
        self._guard_metric: Optional[int] = None
        self._watchdog: Optional[subprocess.Popen] = None
        self._started = False
        self._closed = False

    # -- life cycle ----------------------------------------------------------
    def __enter__(self) -> "LldpLab":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def ttl(self) -> int:
        """The TTL lldpd advertises: a silent neighbour is gone after this many seconds."""
        return self.tx_interval * self.tx_hold

    def start(self) -> None:
        """Check the tools, remove dead labs' leftovers, take a lab prefix and
        put up the guard route. add_node() calls it if needed."""
        with self._lock:
            if self._started:
                return
            if self._closed:
                raise LabError("this lab was closed")
            problem = unavailable_reason()
            if problem:
                raise LabError(problem)
            self.workdir.mkdir(parents=True, exist_ok=True)
            LOCK_DIR.mkdir(parents=True, exist_ok=True)
            _OPEN_LABS.add(self)
            self._started = True
            with _alloc_lock():
                remove_dead_labs(self.log)
                for _ in range(100):
                    prefix = secrets.token_hex(2)
                    path = LOCK_DIR / f"{prefix}.lock"
                    if path.exists() or any(n.startswith(f"{NS_PREFIX}{prefix}-") for n in _netns_names()):
                        continue
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    self.prefix, self._lock_fd = prefix, fd
                    break
                else:  # pragma: no cover
                    raise LabError(f"no free lab prefix in {LOCK_DIR}")
                self._guard_metric = GUARD_METRIC_BASE + int(self.prefix, 16)
                os.write(self._lock_fd, json.dumps({
                    "prefix": self.prefix, "pid": os.getpid(), "guard": str(self.network),
                    "metric": self._guard_metric, "workdir": str(self.workdir),
                }).encode())
                _run([IP, "route", "replace", "unreachable", str(self.network), "metric", str(self._guard_metric)])
            self._start_watchdog()
            self.log(f"lldp lab {self.prefix}: started (work dir {self.workdir})")

    def close(self) -> None:
        """Stop everything and delete what the lab made; safe to call twice and
        on a half-built lab. Logs stay in workdir."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            errors = []
            for node in list(self.nodes.values()):
                try:
                    self._remove(node)
                except Exception as exc:  # teardown goes on whatever fails
                    errors.append(f"{node.name}: {exc}")
            if self._guard_metric is not None:
                _run([IP, "route", "del", "unreachable", str(self.network), "metric", str(self._guard_metric)],
                     timeout=10, check=False)
                self._guard_metric = None
            if self.prefix:
                shutil.rmtree(LOCK_DIR / self.prefix, ignore_errors=True)
            if self._lock_fd is not None:
                try:
                    os.unlink(LOCK_DIR / f"{self.prefix}.lock")
                except OSError:
                    pass
                os.close(self._lock_fd)
                self._lock_fd = None
            if self._watchdog is not None:
                try:
                    self._watchdog.stdin.write(b"closed\n")
                    self._watchdog.stdin.close()
                except OSError:
                    pass
                _stop(self._watchdog, grace=5)
                self._watchdog = None
            _OPEN_LABS.discard(self)
            if errors:
                self.log(f"lldp lab {self.prefix}: teardown problems: {'; '.join(errors)}")

    # -- nodes ---------------------------------------------------------------
    def add_node(
        self,
        name: str,
        *,
        capabilities: Iterable[str] = ("bridge",),
        sys_name: Optional[str] = None,
        description: Optional[str] = None,
        snmpd_conf: Callable[[Node], str] = lambda node: "",
    ) -> Node:
        """A new namespace with its management link, snmpd and lldpd; returns
        once snmpd answers on ``node.address`` and serves lldpd's LLDP-MIB with
        the node's system name (about a second). ``snmpd_conf(node)``: more lines
        for its snmpd.conf, given the node once its addresses are known."""
        caps = tuple(capabilities)
        if not caps or any(c not in CAPABILITIES for c in caps):
            raise ValueError(f"capabilities must be some of {CAPABILITIES}, not {caps!r}")
        if not _NAME.match(name):
            raise ValueError(f"node name {name!r}: 1-16 of a-z, 0-9, '_', '-', starting with a letter")
        sys_name = sys_name or name
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", sys_name):
            raise ValueError(f"sys_name {sys_name!r}: letters, digits, '_', '.', '-' only")
        with self._lock:
            self.start()
            if self._closed:
                raise LabError("this lab was closed")
            if name in self.nodes:
                raise LabError(f"node {name} exists already")
            self._count += 1
            number = self._count
            workdir = self.workdir / name
            if workdir.exists() and name in self._removed:  # keep the logs of the removed one
                k = 1
                while (self.workdir / f"{name}.{k}").exists():
                    k += 1
                workdir.rename(self.workdir / f"{name}.{k}")
            elif workdir.exists():  # an earlier lab's, in a reused workdir
                shutil.rmtree(workdir)
            workdir.mkdir(parents=True)
            node = Node(
                lab=self, name=name, number=number, netns=f"{NS_PREFIX}{self.prefix}-{name}", sys_name=sys_name,
                capabilities=caps, description=description or f"EyeNet LLDP lab {'/'.join(caps)} {sys_name}",
                workdir=workdir, run_dir=self._run_dir(name),
                root_if=f"{ROOT_IF_PREFIX}{self.prefix}{number}",
                host_address="", address="", subnet=ipaddress.ip_network("0.0.0.0/30"),
            )
            self.nodes[name] = node
            try:
                self._make_namespace(node)
                self._start_snmpd(node, snmpd_conf(node))
                self._start_lldpd(node)
            except BaseException:
                try:
                    self._remove(node)
                finally:
                    self.nodes.pop(name, None)
                raise
            self.log(f"lldp lab {self.prefix}: node {name} up at {node.address} ({node.netns})")
            return node

    def remove_node(self, node: Union[Node, str]) -> None:
        """Stop the node's lldpd (which sends its neighbours a shutdown LLDPDU)
        and snmpd, and delete its namespace: its management veth and its links
        go with it."""
        with self._lock:
            node = self._node(node)
            try:
                self._remove(node)
            finally:
                self.nodes.pop(node.name, None)

    # -- links ---------------------------------------------------------------
    def link(self, a: Union[Node, str], b: Union[Node, str], a_port: str = "eth1", b_port: str = "eth1", *,
             addresses: bool = False, mtu: Optional[int] = None) -> Link:
        """A veth pair between ``a``'s ``a_port`` and ``b``'s ``b_port``, both up.
        lldpd on both sides picks the new port up within about a second and
        sends on it: each side lists the other about 2 s after this returns.
        ``addresses``: a /30 of DATA_NETWORK on the pair (``a`` .1, ``b`` .2), for
        ``traffic()``; ``mtu``: both ends' MTU (veth takes up to 65535: big UDP
        datagrams unfragmented, so a sender spends little CPU per byte)."""
        with self._lock:
            a, b = self._node(a), self._node(b)
            if a is b:
                raise ValueError("a link needs two different nodes")
            for node, port in ((a, a_port), (b, b_port)):
                if not _PORT.match(port) or port in (MGMT_IF, "lo"):
                    raise ValueError(f"port name {port!r}: up to 15 characters, not {MGMT_IF} or lo")
                if port in node.ports:
                    raise LabError(f"node {node.name} has a port {port} already")
            link = Link(a, a_port, b, b_port, mtu=mtu)
            if addresses:
                link.subnet = ipaddress.ip_network((int(ipaddress.ip_address(DATA_NETWORK)) + 4 * len(self.links), 30))
            self._make_link(link)
            self.links.append(link)
            return link

    def cut(self, link: Link, how: str = "delete") -> None:
        """Cut ``link``: ``how="delete"`` deletes the veth pair (both ports
        vanish; each lldpd drops the neighbour in about a second), ``"down"``
        sets both ends administratively down (the ports stay, oper down; the
        neighbours go just as fast). ``restore(link)`` undoes either."""
        with self._lock:
            if link.state not in ("up",):
                raise LabError(f"{link!r} is not up")
            if how == "delete":
                _run([IP, "-n", link.a.netns, "link", "del", link.a_port])
                link.state = "cut"
            elif how == "down":
                _run([IP, "-n", link.a.netns, "link", "set", link.a_port, "down"])
                _run([IP, "-n", link.b.netns, "link", "set", link.b_port, "down"])
                link.state = "down"
            else:
                raise ValueError(f"how must be 'delete' or 'down', not {how!r}")

    def restore(self, link: Link, *, same_index: bool = False) -> None:
        """Bring a cut link back (a deleted one is made again, same names; with
        ``same_index``, under the ifIndexes it had, as a re-created interface that
        an agent keeps the same row for, its counters starting again from 0)."""
        with self._lock:
            if link.state == "down":
                _run([IP, "-n", link.a.netns, "link", "set", link.a_port, "up"])
                _run([IP, "-n", link.b.netns, "link", "set", link.b_port, "up"])
            elif link.state == "cut":
                self._make_link(link, same_index=same_index)
            else:
                raise LabError(f"{link!r} cannot be restored")
            link.state = "up"

    def route_via(self, node: Union[Node, str]) -> str:
        """Make ``node`` a gateway of this host: a root-namespace route through its
        management address, to an address of TEST-NET-2 (RFC 5737) that nothing uses,
        so no packet ever takes it. It goes with ``unroute()``, or with the node's
        management veth when the lab closes. Returns the route's destination."""
        node = self._node(node)
        destination = f"198.51.100.{node.number}/32"
        with self._lock:
            _run([IP, "route", "replace", destination, "via", node.address, "dev", node.root_if])
        return destination

    def unroute(self, destination: str) -> None:
        with self._lock:
            _run([IP, "route", "del", destination])

    # -- diagnostics ---------------------------------------------------------
    def describe(self, tail: int = 2000) -> str:
        """The lab's state and every node's log tails, for failure messages."""
        lines = [f"lldp lab {self.prefix or '(not started)'} in {self.workdir}, TTL {self.ttl} s"]
        for node in self.nodes.values():
            lines.append(f"  {node!r} root side {node.root_if} {node.host_address}")
        for link in self.links:
            lines.append(f"  {link!r}")
        for node in self.nodes.values():
            lines.append(node.log_text(tail))
        return "\n".join(lines)

    # -- internals -----------------------------------------------------------
    def _node(self, node: Union[Node, str]) -> Node:
        if isinstance(node, str):
            try:
                return self.nodes[node]
            except KeyError:
                raise LabError(f"no node {node!r} in this lab") from None
        if node.lab is not self or self.nodes.get(node.name) is not node:
            raise LabError(f"{node!r} is not a node of this lab (removed?)")
        return node

    def _start_watchdog(self) -> None:
        """A process that removes this lab's leftovers if this one dies without
        close(): it reads a pipe from us until EOF, and "closed" before EOF
        means there is nothing to do. Its own session, no parent-death signal:
        it must outlive us."""
        code = "import sys; sys.path.insert(0, sys.argv[1]); import lldp_lab; lldp_lab._watchdog(sys.argv[2])"
        with open(self.workdir / "watchdog.log", "ab") as log_file:
            self._watchdog = subprocess.Popen(
                [sys.executable, "-c", code, str(Path(__file__).resolve().parent), self.prefix],
                stdin=subprocess.PIPE, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def _run_dir(self, name: str) -> Path:
        """The node's sockets and lldpd.conf go to /run/eyenet-lldp-lab/<prefix>/<name>
        (0755), not under workdir: lldpd runs lldpcli as its unprivileged user
        _lldpd, which must reach the control socket and read the configuration
        (pytest's /tmp/pytest-of-root is 0700), and Unix socket paths must fit in
        108 bytes."""
        path = LOCK_DIR / self.prefix / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        for p in (path, path.parent, LOCK_DIR):
            p.chmod(0o755)
        return path

    def _make_namespace(self, node: Node) -> None:
        _run([IP, "netns", "add", node.netns])
        _disable_ipv6(node.netns)
        with _alloc_lock():
            subnet = self._free_subnet()
            node.subnet = subnet
            node.host_address, node.address = str(subnet[1]), str(subnet[2])
            _run([IP, "link", "add", node.root_if, "type", "veth", "peer", "name", MGMT_IF, "netns", node.netns])
            _disable_ipv6(None, node.root_if)
            _run([IP, "addr", "add", f"{node.host_address}/30", "dev", node.root_if])
        _run([IP, "link", "set", node.root_if, "up"])
        _run([IP, "-n", node.netns, "-batch", "-"], input="\n".join([
            "link set lo up",
            f"addr add {node.address}/30 dev {MGMT_IF}",
            f"link set {MGMT_IF} up",
        ]) + "\n")
        route = _run([IP, "-o", "route", "get", node.address], timeout=10)
        if f" dev {node.root_if} " not in route:
            raise LabError(f"{node.address} is not routed over {node.root_if}: {route.strip()}")

    def _free_subnet(self) -> ipaddress.IPv4Network:
        """A /30 of self.network that nothing in the root namespace uses or
        routes more specifically than self.network (called under _alloc_lock)."""
        taken: list[ipaddress.IPv4Network] = []
        for line in _run([IP, "-4", "-o", "addr", "show"], timeout=10).splitlines():
            words = line.split()
            if "inet" in words:
                taken.append(ipaddress.ip_interface(words[words.index("inet") + 1]).network)
        for line in _run([IP, "-4", "-o", "route", "show", "table", "all"], timeout=10).splitlines():
            words = line.split()
            if not words:
                continue
            kind = words[0] if words[0] in ("unreachable", "blackhole", "prohibit", "local", "broadcast") else ""
            dest = words[1] if kind else words[0]
            if dest == "default":
                continue
            try:
                net = ipaddress.ip_network(dest, strict=False)
            except ValueError:
                continue
            if kind in ("unreachable", "blackhole", "prohibit") and net == self.network:
                continue  # the labs' guard routes
            if net.prefixlen >= self.network.prefixlen:
                taken.append(net)
        taken = [t for t in taken if t.overlaps(self.network)]
        count = 1 << (30 - self.network.prefixlen)
        start = random.randrange(count)
        for i in range(count):
            k = (start + i) % count
            if k == 0:
                continue  # leave the network's first /30 alone
            subnet = ipaddress.ip_network((int(self.network.network_address) + 4 * k, 30))
            if not any(subnet.overlaps(t) for t in taken):
                return subnet
        raise LabError(f"no free /30 left in {self.network} (pass another network=)")

    def _start_snmpd(self, node: Node, extra_conf: str) -> None:
        services = sum({_SYS_SERVICES[c] for c in node.capabilities} | {64})
        conf = node.workdir / "snmpd.conf"
        conf.write_text("\n".join([
            f"# eyenet tests/lldp_lab.py: node {node.name} ({node.netns})",
            f"agentaddress udp:{node.address}:{node.port}",
            f"rocommunity {node.community} {node.subnet}",
            f"rocommunity {node.community} 127.0.0.1",
            f"sysName {node.sys_name}",
            f"sysDescr {node.description}",
            "sysLocation eyenet lldp lab",
            "sysContact eyenet tests",
            f"sysServices {services}",
            "master agentx",
            f"agentXSocket {node.agentx_socket}",
            "dontLogTCPWrappersConnects yes",
            extra_conf,
            "",
        ]))
        env = agents.netsnmp_env(node.workdir)
        log_file = open(node.workdir / "snmpd.stdout", "ab")
        try:
            # `ip netns exec` execs snmpd in place: the Popen pid is snmpd's.
            process = _spawn([
                IP, "netns", "exec", node.netns, SNMPD, "-f", "-C", "-c", str(conf),
                "-Lf", str(node.snmpd_log), "-p", str(node.workdir / "snmpd.pid"),
                "-M", str(node.workdir / "netsnmp-conf"), "-m", "",
            ], log_file, env=env, cwd=node.workdir)
        except BaseException:
            log_file.close()
            raise
        node.snmpd = agents.Agent(
            f"snmpd[{node.name}]", process, node.address, node.port, node.community, node.workdir,
            node.snmpd_log, log_file,
        )
        try:
            agents.wait_until_answers(node.snmpd, timeout=self.start_timeout)
        except agents.AgentError as exc:
            raise LabError(f"snmpd of node {node.name} did not come up: {exc}") from None
        wait_until(node.agentx_socket.exists, 5, f"snmpd of {node.name} to make {node.agentx_socket}",
                   describe=node.log_text)

    def _start_lldpd(self, node: Node) -> None:
        conf = node.run_dir / "lldpd.conf"  # read by lldpcli as _lldpd; a copy stays in workdir
        conf.write_text("\n".join([
            f"# eyenet tests/lldp_lab.py: node {node.name}, run by lldpcli when lldpd starts (-O)",
            f"configure system hostname {node.sys_name}",
            f"configure system capabilities enabled {','.join(node.capabilities)}",
            "configure lldp portidsubtype ifname",
            f"configure ports {MGMT_IF} lldp status disabled",
            f"configure lldp tx-interval {self.tx_interval}",
            f"configure lldp tx-hold {self.tx_hold}",
            "",
        ]))
        conf.chmod(0o644)
        shutil.copyfile(conf, node.workdir / "lldpd.conf")
        argv = [
            IP, "netns", "exec", node.netns, LLDPD,
            "-ddd",  # foreground, log to stderr only (not syslog), info level
            "-u", str(node.lldpd_socket),  # its own control socket (default /run/lldpd.socket)
            "-p", str(node.workdir / "lldpd.pid"),
            "-I", "*",  # every port; mgmt0's LLDP status is disabled in lldpd.conf
            "-C", MGMT_IF,  # chassis ID: mgmt0's MAC (unique, stable while data ports come and go)
            "-m", node.address,  # the management address advertised (lldpRemManAddrTable)
            "-S", node.description,
            "-x", "-X", str(node.agentx_socket),  # AgentX subagent of the node's snmpd
            "-O", str(conf),  # lldpcli reads this, not /etc/lldpd.conf and /etc/lldpd.d
            "-L", LLDPCLI,
        ]
        env = agents.netsnmp_env(node.workdir)
        with open(node.lldpd_log, "ab") as log_file:
            node.lldpd = _spawn(argv, log_file, env=env, cwd=node.workdir)
        assert node.snmpd is not None
        want = node.sys_name.encode()

        def ready() -> bool:
            node.check_alive()
            log = _tail(node.lldpd_log, 20000)
            bad = [line for line in log.splitlines() if any(m in line for m in _LLDPD_FAILURES)]
            if bad:  # e.g. lldpcli could not apply lldpd.conf: it would run unconfigured
                raise LabError(f"lldpd of node {node.name} failed: {bad[0]}\n{node.log_text()}")
            proc = agents.run_netsnmp("snmpget", node.snmpd, LLDP_LOC_SYS_NAME, LLDP_LOC_CHASSIS_ID,
                                      timeout=0.5, retries=0, check=False)
            if proc.returncode != 0:
                return False
            try:
                values = agents.parse_netsnmp_output(proc.stdout)
            except ValueError:
                return False
            if len(values) == 2 and values[0][2] == want and isinstance(values[1][2], bytes):
                node.chassis_id = values[1][2]
                return True
            return False

        wait_until(ready, self.start_timeout,
                   f"lldpd of {node.name} to serve lldpLocSysName {node.sys_name!r} through snmpd",
                   interval=0.05, describe=node.log_text)

    def traffic(self, link: Link, *, rate: Optional[float] = None, seconds: float = 10.0,
                octets: Optional[int] = None) -> "Traffic":
        """UDP from ``link.a`` to ``link.b`` (a link made with ``addresses=True``), at
        ``rate`` bit/s (None: as fast as it goes), for ``seconds`` at most and ``octets``
        of payload at most; it goes on through errors (a port deleted meanwhile). A
        context manager: leaving it stops the sender; ``wait()`` waits for its end."""
        argv = [IP, "netns", "exec", link.a.netns, sys.executable, str(Path(__file__).resolve().parent / "lab_traffic.py"),
                link.b_address, str(rate or 0), str(seconds), str(octets or 0)]
        return Traffic(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True), seconds)

    def if_index(self, node: Union[Node, str], port: str) -> int:
        """The ifIndex of ``port`` in ``node``'s namespace."""
        node = self._node(node)
        out = _run([IP, "-n", node.netns, "-o", "link", "show", "dev", port], timeout=10)
        return int(out.split(":", 1)[0])

    def _make_link(self, link: Link, same_index: bool = False) -> None:
        a_index = ["index", str(link.a_index)] if same_index else []
        b_index = ["index", str(link.b_index)] if same_index else []
        mtu = ["mtu", str(link.mtu)] if link.mtu else []
        _run([IP, "-n", link.a.netns, "link", "add", link.a_port, *a_index, *mtu, "type", "veth",
              "peer", "name", link.b_port, *b_index, *mtu, "netns", link.b.netns])
        for node, port, host in ((link.a, link.a_port, 1), (link.b, link.b_port, 2)):
            if link.subnet is not None:
                _run([IP, "-n", node.netns, "addr", "add", f"{link.subnet[host]}/30", "dev", port])
            _run([IP, "-n", node.netns, "link", "set", port, "up"])
        link.a_index, link.b_index = self.if_index(link.a, link.a_port), self.if_index(link.b, link.b_port)


    def _remove(self, node: Node) -> None:
        """Tear one node down (best effort, every step tried)."""
        if node.removed:
            return
        node.removed = True
        self._removed.add(node.name)
        errors: list[str] = []
        _stop(node.lldpd)  # SIGTERM: lldpd sends a shutdown LLDPDU (TTL 0) on its ports
        if node.snmpd is not None:
            node.snmpd.stop()
        if Path("/sys/class/net", node.root_if).exists():
            _run([IP, "link", "del", node.root_if], check=False, timeout=10)
        if _netns_exists(node.netns):
            # What is left (lldpd's privilege-separated child, an lldpcli) was
            # started by this lab in its own namespace: end it by pid.
            for pid in _netns_pids(node.netns):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                _run([IP, "netns", "del", node.netns])
            except LabError as exc:
                errors.append(str(exc))
        for link in self.links:
            if (link.a is node or link.b is node) and link.state != "removed":
                link.state = "removed"
        if errors:
            raise LabError("; ".join(errors))


# ---------------------------------------------------------------------------
# machine-wide: availability, allocation lock, leftovers of dead labs
# ---------------------------------------------------------------------------


def netns_unavailable_reason() -> Optional[str]:
    """Why network namespaces cannot be made here (not root, no working
    ``ip netns``), or None. Tests skip on this and only on this."""
    if os.geteuid() != 0:
        return "the LLDP lab needs root (network namespaces, veth links)"
    if shutil.which(IP) is None:
        return "no `ip` command (Debian package iproute2)"
    try:
        res = subprocess.run([IP, "netns", "list"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns list` failed: {exc}"
    if res.returncode != 0:
        return f"`ip netns` does not work here: {res.stderr.strip()}"
    return None


def unavailable_reason() -> Optional[str]:
    """Why a lab cannot run here (netns_unavailable_reason(), or snmpd or
    lldpd missing), or None."""
    problem = netns_unavailable_reason()
    if problem:
        return problem
    for path, package in ((SNMPD, "snmpd"), (LLDPD, "lldpd"), (LLDPCLI, "lldpd")):
        if not os.access(path, os.X_OK):
            return f"{path} not found: install the Debian package {package} (scripts/test.sh does)"
    return None


def _netns_names() -> list[str]:
    try:
        return os.listdir("/run/netns")
    except OSError:
        return []


class _alloc_lock:
    """The machine-wide lock of all labs (address allocation, leftovers)."""

    def __enter__(self) -> None:
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(LOCK_DIR / "alloc.lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + 60
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(self.fd)
                    raise
            if time.monotonic() > deadline:
                os.close(self.fd)
                raise LabError(f"{LOCK_DIR / 'alloc.lock'} held for over 60 s by another lab")
            time.sleep(0.05)

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)


def remove_dead_labs(log: Callable[[str], None] = lambda msg: None) -> list[str]:
    """Remove what labs that died without closing left behind: their
    namespaces (and the processes still in them), root-side veths and guard
    routes. A lab is dead when nobody holds its lock file. Call under
    _alloc_lock (LldpLab.start does). Returns what was removed."""
    removed: list[str] = []
    for path in sorted(LOCK_DIR.glob("*.lock")):
        prefix = path.stem
        if path.name == "alloc.lock" or not re.fullmatch(r"[0-9a-f]{4}", prefix):
            continue
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live lab
            try:
                info = json.loads(os.read(fd, 4096) or b"{}")
            except ValueError:
                info = {}
            for ns in _netns_names():
                if ns.startswith(f"{NS_PREFIX}{prefix}-"):
                    for pid in _netns_pids(ns):
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    _run([IP, "netns", "del", ns], check=False, timeout=30)
                    removed.append(ns)
            for ifname in os.listdir("/sys/class/net"):
                if re.fullmatch(f"{ROOT_IF_PREFIX}{prefix}[0-9]+", ifname):
                    _run([IP, "link", "del", ifname], check=False, timeout=10)
                    removed.append(ifname)
            if info.get("metric") and info.get("guard"):
                _run([IP, "route", "del", "unreachable", str(info["guard"]), "metric", str(info["metric"])],
                     check=False, timeout=10)
            shutil.rmtree(LOCK_DIR / prefix, ignore_errors=True)
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
    if removed:
        log(f"lldp lab: removed leftovers of dead labs: {removed}")
    return removed


def _watchdog(prefix: str) -> None:
    """The watchdog process of lab ``prefix`` (see LldpLab._start_watchdog)."""
    data = sys.stdin.buffer.read()
    if data.endswith(b"closed\n"):
        return
    # The lab's process is gone; the kernel drops its lock as it closes its
    # files, maybe just after our pipe: try for a while.
    lock = LOCK_DIR / f"{prefix}.lock"
    deadline = time.monotonic() + 30
    while lock.exists() and time.monotonic() < deadline:
        with _alloc_lock():
            removed = remove_dead_labs()
        if removed:
            print(f"lldp lab {prefix} watchdog: the lab's process died; removed {removed}", flush=True)
        if lock.exists():
            time.sleep(0.1)


def leftovers(lab: LldpLab) -> list[str]:
    """What a closed lab left on the machine (namespaces, veths, its lock, its guard route): nothing, normally."""
    found = [f"netns {n}" for n in _netns_names() if n.startswith(f"en-{lab.prefix}-")]
    found += [f"link {n}" for n in os.listdir("/sys/class/net") if n.startswith(f"en{lab.prefix}")]
    if (LOCK_DIR / f"{lab.prefix}.lock").exists():
        found.append(f"lock {LOCK_DIR / f'{lab.prefix}.lock'}")
    metric = GUARD_METRIC_BASE + int(lab.prefix, 16)
    routes = _run(["ip", "-4", "route", "show", "table", "all"], timeout=10)
    found += [f"route {line}" for line in routes.splitlines() if str(lab.network) in line and f"metric {metric}" in line]
    return found


@contextlib.contextmanager
def lab_for_test(workdir: Path):
    """A lab for one test: skipped where namespaces cannot be made (not root), and checked
    to leave nothing behind."""
    import pytest

    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(f"LLDP lab: {reason}")
    with LldpLab(workdir) as lab:
        yield lab
    assert not leftovers(lab), leftovers(lab)
