"""packaging/: systemd accepts the unit and its user and directories, and EyeNet takes the
command line and the configuration the unit starts it with.

systemd-analyze verify runs in a root of its own (the unit, the commands it names, and this
machine's systemd units for the targets it hangs on), so that the check does not depend on
what is installed here; systemd-sysusers and systemd-tmpfiles make the user and directories
in that root, as the .deb's postinst does on a host. packaging/unit_sandbox.py, which starts
the smoke's service as systemd would, is tried here on a child of this machine's own Python.
The artefacts themselves are tried by packaging/smoke.sh deb and binary (minutes each: README,
"Install as a service").
"""

from __future__ import annotations

import errno
import json
import os
import platform
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from eyenet.anomaly import scanner
from eyenet.cli import build_parser, main
from eyenet.config import load_config
from eyenet.demo import lab
from eyenet.store.schema import connect, migrate

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
UNIT = PACKAGING / "eyenet.service"
# What a systemd of Debian 12 (252) says a unit's exposure is at most, to pass.
MAX_EXPOSURE = 2.0
# python3-seccomp (scripts/test.sh installs it) is for Debian's interpreter, not the venv's.
DEBIAN_PYTHON = "/usr/bin/python3"


def service_settings() -> dict[str, list[str]]:
    """[Service] key -> its values, in order (a key may be given more than once)."""
    settings: dict[str, list[str]] = {}
    section = None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def systemd_units() -> Path:
    for d in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if (d / "multi-user.target").exists():
            return d
    raise AssertionError("no systemd units on this machine (Debian: apt-get install systemd)")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root with the unit installed as the .deb installs it, and what its commands need."""
    root = tmp_path / "root"
    shutil.copytree(systemd_units(), root / "usr/lib/systemd/system", symlinks=True)
    shutil.copy(UNIT, root / "usr/lib/systemd/system/eyenet.service")
    for words in (service_settings()["ExecStart"] + service_settings()["ExecReload"]):
        command = root / shlex.split(words)[0].lstrip("/")
        command.parent.mkdir(parents=True, exist_ok=True)
        command.write_text("#!/bin/sh\n")
        command.chmod(0o755)
    (root / "etc").mkdir()
    for name in ("passwd", "group", "shadow", "gshadow"):
        (root / "etc" / name).write_text("root:x:0:0:root:/root:/bin/sh\n" if name == "passwd" else "root:x:0:\n")
    return root


def test_systemd_analyze_verify_is_clean(root: Path):
    out = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "eyenet.service"], capture_output=True, text=True, timeout=60,
    )
    assert (out.returncode, out.stderr, out.stdout) == (0, "", "")


def test_exposure_is_at_most_2(tmp_path: Path):
    out = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)], capture_output=True, text=True, timeout=60,
    )
    found = re.search(r"Overall exposure level for eyenet\.service: ([0-9.]+)", out.stdout)
    assert found, out.stdout + out.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, out.stdout


def test_sysusers_and_tmpfiles_make_the_units_user_and_directories(root: Path):
    settings = service_settings()
    subprocess.run(["systemd-sysusers", f"--root={root}", str(PACKAGING / "eyenet.sysusers")], check=True, timeout=60)
    users = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0] for line in (root / "etc/group").read_text().splitlines()}
    (user,) = settings["User"]
    (group,) = settings["Group"]
    assert user in users and group in groups
    (state,) = settings["StateDirectory"]
    assert users[user][5] == f"/var/lib/{state}"  # its home
    (root / "etc/eyenet").mkdir()
    (root / "etc/eyenet/eyenet.toml").write_text("")
    subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create", str(PACKAGING / "eyenet.tmpfiles")], check=True, timeout=60)
    uid = int(users[user][2])
    st = (root / "var/lib" / state).stat()
    assert (st.st_mode & 0o7777, st.st_uid) == (0o750, uid)
    st = (root / "etc/eyenet/eyenet.toml").stat()
    assert (st.st_mode & 0o7777, st.st_uid) == (0o640, 0)


def test_exec_start_is_an_eyenet_command_line():
    settings = service_settings()
    (exec_start,) = settings["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0] == "/usr/bin/eyenet"
    args = build_parser().parse_args(argv[1:])
    assert (args.command, args.config) == ("run", "/etc/eyenet/eyenet.toml")
    # The .deb puts the command and the configuration there.
    build = (PACKAGING / "build-deb.sh").read_text()
    assert '"$pkg/usr/bin/eyenet"' in build and '"$pkg/etc/eyenet/eyenet.toml"' in build
    (config_dir,) = settings["ConfigurationDirectory"]
    assert args.config.startswith(f"/etc/{config_dir}/")


def test_the_service_configuration_checks_and_keeps_its_state_in_the_state_directory(tmp_path: Path, capsys):
    """service-config.sh writes /etc/eyenet/eyenet.toml of the .deb from the example; with the
    state directory given (here a temporary one, /var/lib/eyenet in the package)."""
    state = tmp_path / "state"
    state.mkdir()
    path = tmp_path / "eyenet.toml"
    out = subprocess.run([str(PACKAGING / "service-config.sh"), str(state)], capture_output=True, text=True, check=True)
    path.write_text(out.stdout)
    assert main(["check-config", str(path)]) == 0
    assert "OK" in capsys.readouterr().out
    assert load_config(path).store.path == str(state / "eyenet.db")
    assert "/var/lib/eyenet/eyenet.db" in subprocess.run(
        [str(PACKAGING / "service-config.sh")], capture_output=True, text=True, check=True,
    ).stdout


def test_the_single_executable_serves_the_demo_lab_itself(monkeypatch):
    """In the PyInstaller executable (sys.frozen) the demo starts snmpsim as the executable
    itself, whose entry point hands that argument to snmpsim's command responder."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert lab.snmpsim_argv() == [sys.executable, lab.SNMPSIM_IN_BINARY]
    entry = subprocess.run(
        [sys.executable, str(PACKAGING / "eyenet_binary.py"), lab.SNMPSIM_IN_BINARY, "--help"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    # snmpsim's own usage (it exits 1 after --help).
    assert "usage: snmpsim-command-responder" in entry.stdout + entry.stderr, entry.stdout + entry.stderr


def test_the_single_executable_is_its_own_anomaly_scan_child(monkeypatch, tmp_path):
    """Frozen, the scans' child is the executable itself (there is no `-m`), whose entry point
    serves the child's requests: here one for a device with no history, which finds nothing."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert scanner.scanner_argv() == [sys.executable, scanner.SCANNER_IN_BINARY]
    db = tmp_path / "eyenet.db"
    conn = connect(str(db))
    migrate(conn)
    conn.close()
    entry = subprocess.run(
        [sys.executable, str(PACKAGING / "eyenet_binary.py"), scanner.SCANNER_IN_BINARY, str(db), "0.8"],
        input=b'{"now": 1800000000, "series": [["r1", "cpu", 60.0]]}\n', capture_output=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert entry.returncode == 0, entry.stderr.decode()
    assert orjson.loads(entry.stdout) == {"found": [], "failed": []}


def sandbox(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DEBIAN_PYTHON, str(PACKAGING / "unit_sandbox.py"), *args], capture_output=True, text=True, timeout=120,
    )


def test_the_units_syscall_filter_is_system_service_without_privileged_and_resources():
    out = sandbox("--print", str(UNIT))
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    filtered = shown["system_calls"]
    assert (filtered["allow_list"], filtered["default_errno"], filtered["errno"]) == (True, errno.EPERM, {})
    calls = set(filtered["calls"])
    # From @default, from groups nested in @system-service, and from its own list.
    assert {"execve", "prlimit64", "epoll_wait", "socket", "clone3", "fsync", "timerfd_create", "kill", "ioctl"} <= calls
    # @privileged (chown through its nested @chown, capset and setuid also in @system-service),
    # @resources, and what no group of @system-service has.
    assert not calls & {"chown", "fchown", "capset", "setuid", "setresuid", "setgroups", "chroot",
                        "setrlimit", "sched_setaffinity", "setpriority", "mount", "reboot", "bpf", "ptrace", "mincore"}
    families = shown["address_families"]
    assert families == {"allow_list": True, "families": sorted([socket.AF_UNIX, socket.AF_INET, socket.AF_INET6])}


# Under the unit's filters: which calls fail, with what (the raw setrlimit system call: glibc's
# setrlimit() is prlimit64, in @default; write+exec memory: EPERM from systemd 252's filter,
# before PR_SET_MDWE's EACCES).
PROBE = """
import ctypes, errno, json, mmap, os, platform, resource, socket, sys
import trio

def outcome(call):
    try:
        call()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]

libc = ctypes.CDLL(None, use_errno=True)
limits = (ctypes.c_ulong * 2)(*resource.getrlimit(resource.RLIMIT_NOFILE))
raw = libc.syscall(int(sys.argv[1]), resource.RLIMIT_NOFILE, limits)
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
print(json.dumps({
    "setrlimit": "ok" if raw == 0 else errno.errorcode[ctypes.get_errno()],
    "resource.setrlimit": outcome(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE))),
    "AF_PACKET": outcome(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()),
    "AF_NETLINK": outcome(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close()),
    "AF_INET": outcome(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()),
    "AF_INET6": outcome(lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()),
    "AF_UNIX": outcome(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).close()),
    "setuid": outcome(lambda: os.setuid(os.getuid())),
    "write+exec memory": outcome(lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)),
    "umask": oct(os.umask(0)),
    "status": {k: status[k].strip() for k in ("NoNewPrivs", "Seccomp")},
}))
"""
SETRLIMIT = {"x86_64": 160, "aarch64": 164}  # the setrlimit system call's number


def test_a_child_under_the_units_filters_runs_python_and_trio_and_is_refused_the_rest(tmp_path: Path):
    """The unit as packaging/smoke.sh applies it, less the user and directory of a real install."""
    unit = tmp_path / "eyenet.service"
    unit.write_text("".join(
        line for line in UNIT.read_text().splitlines(keepends=True) if not line.startswith(("User=", "Group=", "WorkingDirectory="))
    ))
    assert platform.machine() in SETRLIMIT, f"no setrlimit system call number known for {platform.machine()}"
    out = sandbox(str(unit), "--", sys.executable, "-c", PROBE, str(SETRLIMIT[platform.machine()]))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "setrlimit": "EPERM", "resource.setrlimit": "ok",
        "AF_PACKET": "EAFNOSUPPORT", "AF_NETLINK": "EAFNOSUPPORT", "AF_INET": "ok", "AF_INET6": "ok", "AF_UNIX": "ok",
        "setuid": "EPERM", "write+exec memory": "EPERM", "umask": "0o77",
        "status": {"NoNewPrivs": "1", "Seccomp": "2"},
    }


def test_the_sandbox_names_what_it_cannot_take_from_a_unit(tmp_path: Path):
    unit = tmp_path / "bad.service"
    unit.write_text("[Service]\nRestrictAddressFamilies=AF_INET AF_BOGUS\n")
    out = sandbox("--print", str(unit))
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == "unit_sandbox: error: RestrictAddressFamilies=: unknown address family AF_BOGUS\n"
