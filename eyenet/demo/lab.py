"""The demo lab: eight simulated devices on loopback, served by snmpsim.

The devices, their links and their schedule are in eyenet.demo.devices; the
recordings written from them in eyenet.demo.records.

All devices are served by one snmpsim process at one address: the SNMP v1/v2c
community selects the device (it is the device id). ``start_lab(...,
distinct_hosts=True)`` instead gives each device its own loopback address
127.0.0.11, .12, ... (Linux routes all of 127/8 to lo), which then is also its
LLDP management address.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Sequence

import attrs
import trio

from eyenet.daemon import child
from eyenet.demo.devices import SCHEDULE, build_devices, device_list
from eyenet.demo.records import MODULE, device_records
from eyenet.snmp.usm import UsmUser

__all__ = ["LabDevice", "LabError", "RunningLab", "write_lab", "start_lab", "SCHEDULE"]
# snmpsim leaves at once on SIGTERM; this bounds a stuck one (EyeNet stops within 5 s in all).
STOP_GRACE = 2.0
VARIATION_SOURCE = Path(__file__).resolve().parent / "variation" / f"{MODULE}.py"


class LabError(RuntimeError):
    """The lab could not be written, or the simulator did not start."""


# The lab's one SNMPv3 device, served by snmpsim's own v3 engine as the recording of that
# name (context name = device id): SHA-256 with AES-256 in the key extension Cisco uses,
# snmpsim's "AES256". Lab credentials, like the communities: known, and for loopback only.
V3_DEVICE = "srv-mon-01"
V3_USER = UsmUser("eyenet-demo", "authPriv", "SHA-256", "demo-auth-pass", "AES-256-C", "demo-priv-pass")


@attrs.frozen
class LabDevice:
    """One simulated device: poll it at host:port with this SNMPv2c community, or for the
    SNMPv3 one (usm set) as that user in context `id`."""

    id: str
    name: str
    host: str
    port: int
    community: str = attrs.field(repr=False)
    role: str  # router | switch | endpoint
    vendor: str
    model: str
    sys_object_id: str
    mgmt_address: str
    usm: UsmUser | None = None


def write_lab(
    directory: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int = 161,
    *,
    distinct_hosts: bool = False,
) -> list[LabDevice]:
    """Write the lab under ``directory`` and describe its devices.

    ``directory/data/<device id>.snmprec``: one recording per device, the
    device id being its SNMP community; ``directory/variation/eyenet_lab.py``:
    the variation module that moves the values. ``host`` and ``port`` are where
    snmpsim will listen (``start_lab`` passes them); with ``distinct_hosts``
    each device gets its own loopback address 127.0.0.11, .12, ... instead of
    ``host``, used both to poll it and as its LLDP management address.
    """
    directory = Path(directory)
    data = directory / "data"
    variation = directory / "variation"
    try:
        if data.exists():
            for old in data.glob("*.snmprec"):
                old.unlink()
        data.mkdir(parents=True, exist_ok=True)
        variation.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(VARIATION_SOURCE, variation / f"{MODULE}.py")
    except OSError as exc:
        raise LabError(f"cannot write the demo lab to {directory}: {exc}") from exc
    devs = build_devices()
    addresses = {dev.id: (f"127.0.0.{11 + n}" if distinct_hosts else host) for n, dev in enumerate(devs)}
    result = []
    for dev in devs:
        address = addresses[dev.id]
        device_records(dev, addresses).write(data / f"{dev.id}.snmprec")
        result.append(
            LabDevice(
                id=dev.id, name=dev.id, host=address, port=port, community=dev.id, role=dev.role,
                vendor=dev.vendor, model=dev.model, sys_object_id=dev.objid, mgmt_address=address,
                usm=V3_USER if dev.id == V3_DEVICE else None,
            )
        )
    return result


# ---------------------------------------------------------------------------
# running it
# ---------------------------------------------------------------------------


@attrs.frozen
class RunningLab:
    """A lab being served: its devices, the snmpsim process and the lab clock."""

    devices: tuple[LabDevice, ...]
    directory: Path
    start_time: float
    process: child.Child = attrs.field(repr=False)
    log_path: Path

    def elapsed(self) -> float:
        """Lab time now: seconds since ``start_time``."""
        return time.time() - self.start_time

    def device(self, device_id: str) -> LabDevice:
        for dev in self.devices:
            if dev.id == device_id:
                return dev
        raise KeyError(device_id)


def snmpsim_command() -> Path:
    """snmpsim-command-responder of the environment running this interpreter
    (sys.executable of a venv is a symlink whose directory is the venv's bin/)."""
    return Path(sys.executable).parent / "snmpsim-command-responder"


# The single executable (packaging/build-binary.sh) has no scripts beside it: it carries
# snmpsim inside and serves the lab when this is its first argument (packaging/eyenet_binary.py).
SNMPSIM_IN_BINARY = "snmpsim-command-responder"


def snmpsim_argv() -> list[str]:
    """How to start snmpsim's command responder: this executable itself when EyeNet is the
    single executable (PyInstaller sets sys.frozen), else the environment's script."""
    if getattr(sys, "frozen", False):
        return [sys.executable, SNMPSIM_IN_BINARY]
    command = snmpsim_command()
    if not command.exists():
        raise LabError(
            f"the demo lab needs snmpsim, and {command} does not exist: install it into "
            f"this environment ({Path(sys.executable).parent / 'pip'} install 'snmpsim>=1.2,<2')"
        )
    return [str(command)]


def _free_udp_port(hosts: Sequence[str]) -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
            try:
                for other in hosts[1:]:
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as o:
                        o.bind((other, port))
            except OSError:
                continue
            return port
    raise LabError("no UDP port is free on all the lab's addresses")


def _probe(community: str) -> bytes:
    """A minimal SNMPv2c GET of sysUpTime.0 (hand-encoded BER)."""
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])
    varbind = b"\x30" + bytes([len(oid) + 4]) + b"\x06" + bytes([len(oid)]) + oid + b"\x05\x00"
    varbinds = b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + varbinds
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    comm = community.encode()
    body = b"\x02\x01\x01\x04" + bytes([len(comm)]) + comm + pdu
    return b"\x30" + bytes([len(body)]) + body


async def _answers(host: str, port: int, community: str, timeout: float = 0.5) -> bool:
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    with sock:
        await sock.connect((host, port))
        await sock.send(_probe(community))
        with trio.move_on_after(timeout):
            try:
                data = await sock.recv(65535)
            except OSError:  # ICMP port unreachable: not listening yet
                await trio.sleep(timeout)
                return False
            return data[:1] == b"\x30"
    return False


@asynccontextmanager
async def start_lab(
    directory: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    start_time: float | None = None,
    distinct_hosts: bool = False,
    start_timeout: float = 30.0,
    log_level: str = "error",
) -> AsyncIterator[RunningLab]:
    """Write the lab into ``directory`` and serve it with snmpsim until the block ends.

    ``port=None`` picks a free UDP port. ``start_time`` (seconds since the
    epoch, default now) is lab time 0: pass a time in the past to start the
    lab that far into its schedule, or the previous start time to continue a
    lab across a restart. Waits until every device answers; on exit,
    terminates snmpsim (SIGTERM, then SIGKILL after 5 s).
    """
    command = snmpsim_argv()
    directory = Path(directory)
    start = time.time() if start_time is None else float(start_time)
    hosts = [f"127.0.0.{11 + n}" for n in range(len(device_list()))] if distinct_hosts else [host]
    chosen = port if port is not None else _free_udp_port(hosts)
    devices = write_lab(directory, host, chosen, distinct_hosts=distinct_hosts)
    cache = directory / "cache"
    cache.mkdir(exist_ok=True)
    log_path = directory / "snmpsim.log"
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["SNMPSIM_ALLOW_ROOT"] = "true"  # snmpsim refuses to run as root otherwise
    cmd = [
        *command,
        # One SNMP engine, whose options (its v3 user, data, endpoints) follow its engine id.
        "--v3-engine-id=auto", f"--v3-user={V3_USER.name}", "--v3-auth-proto=SHA256", f"--v3-auth-key={V3_USER.auth_password}",
        "--v3-priv-proto=AES256", f"--v3-priv-key={V3_USER.priv_password}",
        f"--data-dir={directory / 'data'}",
        f"--cache-dir={cache}",
        f"--variation-modules-dir={directory / 'variation'}",
        f"--variation-module-options={MODULE}:start={start!r}",
        f"--log-level={log_level}",
        *[f"--agent-udpv4-endpoint={h}:{chosen}" for h in hosts],
    ]
    with open(log_path, "wb") as log:
        process = child.spawn(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
        try:
            deadline = trio.current_time() + start_timeout
            pending = list(devices)
            while pending:
                if process.poll() is not None:
                    raise LabError(f"snmpsim exited with status {process.returncode}; log {log_path}:\n"
                                   f"{_tail(log_path)}")
                if trio.current_time() > deadline:
                    raise LabError(f"the demo lab did not answer within {start_timeout:.0f} s; log {log_path}:\n"
                                   f"{_tail(log_path)}")
                dev = pending[0]
                if await _answers(dev.host, dev.port, dev.community):
                    pending.pop(0)
                else:
                    await trio.sleep(0.1)
            yield RunningLab(tuple(devices), directory, start, process, log_path)
        finally:
            with trio.CancelScope(shield=True):
                await child.stop(process, STOP_GRACE)


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""
