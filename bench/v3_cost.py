"""What SNMPv3 authPriv costs over v2c, per varbind, on loopback: no namespaces, no root.

One snmpd (tests/agents.start_snmpd) with an SNMPv3 user (SHA-256 + AES-128); EyeNet's
SnmpClient walks MIB-2 (1.3.6.1.2.1, ~4,000 varbinds of the agent's stable view) over
v2c and over v3 authPriv in turns, --rounds each, GETBULK pinned at 25 repetitions.
The client's CPU (getrusage user+sys of this process, the agent is another) per varbind
is summed over the rounds. A quick stand-in for walk_throughput.py --v3 where its
namespace lab cannot run (one agent and other tables: the figures are not the same).

  python bench/v3_cost.py [--rounds 30] [--profile]

Prints one JSON line: us_per_varbind for v2c and v3, their ratio, and the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import agents  # noqa: E402
import trio  # noqa: E402

from eyenet.snmp.client import SnmpClient, Target  # noqa: E402
from eyenet.snmp.usm import UsmUser  # noqa: E402

MIB2 = (1, 3, 6, 1, 2, 1)
USER = UsmUser("bench", "authPriv", "SHA-256", "bench-auth-pass", "AES", "bench-priv-pass")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def measure(agent, rounds: int, profile: bool) -> dict:
    pinned = {"max_repetitions": 25, "max_repetitions_cap": 25}
    v2c = Target(host="127.0.0.1", port=agent.port, version="2c", community=agent.stable_community, **pinned)
    v3 = Target(host="127.0.0.1", port=agent.port, version="3", usm=USER, **pinned)
    per_varbind = {"v2c": 0.0, "v3": 0.0}
    async with SnmpClient.open() as client:
        counts = {name: len(await client.walk(t, MIB2)) for name, t in (("v2c", v2c), ("v3", v3))}  # warm: discovery, keys
        if counts["v2c"] != counts["v3"]:
            raise SystemExit(f"the walks differ: {counts}")
        ratios = []  # each round's v3/v2c: the median is steadier than the sums on a shared machine
        for _ in range(rounds):
            this = {}
            for name, target in (("v2c", v2c), ("v3", v3)):
                before = cpu()
                got = await client.walk(target, MIB2)
                this[name] = (cpu() - before) / len(got) * 1e6
                per_varbind[name] += this[name] / rounds
            if this["v2c"] > 0:
                ratios.append(this["v3"] / this["v2c"])
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(5):
                await client.walk(v3, MIB2)
            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    return {
        "bench": "v3_cost", "varbinds": counts["v2c"], "rounds": rounds,
        "us_per_varbind": {k: round(v, 2) for k, v in per_varbind.items()},
        "ratio_v3_v2c": round(per_varbind["v3"] / per_varbind["v2c"], 3),
        "ratio_median_round": round(statistics.median(ratios), 3) if ratios else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=30, help="walks of each version, in turns (default 30, max 200)")
    p.add_argument("--profile", action="store_true", help="cProfile five v3 walks, on stderr")
    args = p.parse_args()
    conf = f"createUser bench SHA-256 {USER.auth_password} AES {USER.priv_password}\nrouser bench priv -V stable\n"
    with tempfile.TemporaryDirectory() as tmp:
        agent = agents.start_snmpd(Path(tmp), extra_conf=conf)
        try:
            print(json.dumps(trio.run(measure, agent, min(args.rounds, 200), args.profile)))
        finally:
            agent.stop()


if __name__ == "__main__":
    main()
