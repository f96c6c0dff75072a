"""`eyenet demo`: the simulated lab and EyeNet polling it every 10 seconds, in one process tree."""

import logging
import os
from pathlib import Path
from typing import TextIO

import attrs

from eyenet import app
from eyenet.alerts.rules import DEFAULT_RULES
from eyenet.config import Config, StoreSettings, TopologySettings, WebSettings
from eyenet.daemon.control import Control
from eyenet.demo.lab import V3_DEVICE, start_lab
from eyenet.devices.model import DeviceConfig
from eyenet.store.checks import DIR_MODE, UMASK

log = logging.getLogger("eyenet.demo")

DEMO_INTERVAL = 10.0
# The shipped CPU rule waits 2 minutes; the lab's spike lasts 60 s. 20 s (two polls) raises it
# within the spike and still ignores a single hot sample.
DEMO_RULES = tuple(attrs.evolve(r, for_seconds=20.0) for r in DEFAULT_RULES if r.id == "cpu-high")
# Discovery every 20 s (5 minutes by default) so the 30 s flap shows as topology:update link_change.
DEMO_TOPOLOGY = TopologySettings(interval=20.0)


# The demo serves plain HTTP with a known first user: to this machine only, unless told
# otherwise (`eyenet demo --host`). "localhost" is 127.0.0.1, and ::1 too where the machine
# names it so: a client of ws://localhost:5000 (the contract's snippet) that tries ::1 first,
# as Node 18 on Debian 12 does, then finds the demo there.
DEMO_HOST = "localhost"


def demo_origins(host: str, port: int) -> tuple[str, ...]:
    """The demo's own web origins: those of its address (the loopback ones for localhost and for
    every address). Browsers may poll from these alone unless `eyenet demo --cors-origin` says
    otherwise: a page of any site the user visits must not read the demo's events."""
    if host in ("", DEMO_HOST):
        hosts = ("localhost", "127.0.0.1", "[::1]")
    else:
        hosts = (f"[{host}]" if ":" in host else host,)
    return tuple(f"http://{name}:{port}" for name in hosts)


def demo_config(
    lab, data_dir: Path, port: int = 5000, host: str = DEMO_HOST, cors_origins: tuple[str, ...] = ()
) -> Config:
    """cors_origins: the origins whose pages may poll (default: the demo's own, demo_origins)."""
    devices = tuple(
        DeviceConfig(id=d.id, host=d.host, port=d.port, community=d.community, poll_interval=DEMO_INTERVAL, tags=(d.role,))
        if d.usm is None
        else DeviceConfig(
            id=d.id, host=d.host, port=d.port, version="3", user=d.usm.name, level=d.usm.level,
            auth_protocol=d.usm.auth_protocol, auth_password=d.usm.auth_password, priv_protocol=d.usm.priv_protocol,
            priv_password=d.usm.priv_password, context=d.id, poll_interval=DEMO_INTERVAL, tags=(d.role,),
        )
        for d in lab.devices
    )
    web = WebSettings(host=host, port=port, cors_origins=cors_origins or demo_origins(host, port))
    return Config(
        path="eyenet demo", store=StoreSettings(path=str(data_dir / "eyenet.db")), devices=devices, web=web, rules=DEMO_RULES,
        topology=DEMO_TOPOLOGY,
    )


async def demo(
    data_dir: Path, port: int = 5000, host: str = DEMO_HOST, init: bool = False, control: Control | None = None,
    terminal: TextIO | None = None, cors_origins: tuple[str, ...] = (),
) -> None:
    """control and terminal: as app.run's; the lab's snmpsim stops after EyeNet (and dies with it if it is killed)."""
    os.umask(UMASK)  # the lab's files too: they hold the devices' communities
    data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    async with start_lab(data_dir / "lab", distinct_hosts=True) as lab:
        log.info(
            "demo lab: %d devices on %s:%d (community = device id; %s over SNMPv3 authPriv); the core router's CPU spikes "
            "40-100 s after start, and acc-sw-02's uplink flaps 60-90 s after start",
            len(lab.devices), lab.devices[0].host, lab.devices[0].port, V3_DEVICE,
        )
        config = demo_config(lab, data_dir, port, host, cors_origins)
        await app.run(config, metrics_level=logging.INFO, init=init, control=control, terminal=terminal)
    if control is not None:
        control.note("the demo lab stopped")
