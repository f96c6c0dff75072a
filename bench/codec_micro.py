"""Codec micro-benchmark: decode one realistic ifXTable GetResponse, pyasn1 vs EyeNet.

The message is what a GETBULK over the 18 ifXTable columns net-snmp serves
(non-repeaters 0, max-repetitions 2) returns: row after row of ifName,
the Counter32 and Counter64 packet/octet counters, ifHighSpeed, ifPromiscuousMode,
ifConnectorPresent, ifAlias and ifCounterDiscontinuityTime, with realistic values.
It is built with pysnmp's v2c API and encoded with pyasn1's BER encoder.

Each decoder decodes the same bytes N times per batch, --repeat batches; the
batch with the least CPU time (time.process_time: the figure other processes on
the machine disturb least) gives varbinds_per_s and us_per_varbind, as timeit
takes the best; wall-clock figures (best, median) are reported beside them:

  pyasn1   pyasn1.codec.ber.decoder.decode(data, asn1Spec=pysnmp.proto.api.v2c.Message())
  eyenet   eyenet.snmp.message.decode_message(data)   (skipped with a message if the import fails)

Both results are checked to agree (OIDs, tags' values) before timing. Prints one
JSON line. No network, no root.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the work tree's eyenet

IFX = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)


def build_message(n_varbinds: int, first_index: int = 17) -> bytes:
    from pyasn1.codec.ber import encoder
    from pysnmp.proto.api import v2c

    def row(idx: int) -> list:
        port = idx - 1
        return [
            (1, v2c.OctetString(f"GigabitEthernet1/0/{port}".encode())),
            (2, v2c.Counter32(1_843_221 + idx * 7_919)),
            (3, v2c.Counter32(96_114 + idx * 13)),
            (4, v2c.Counter32(2_201_007 + idx * 104_729)),
            (5, v2c.Counter32(48_120 + idx)),
            (6, v2c.Counter64(18_446_744_073_709_551_000 - idx * 1_000_003)),  # near the Counter64 top
            (7, v2c.Counter64(9_876_543_210_987 + idx * 65_537)),
            (8, v2c.Counter64(1_843_221 + idx * 7_919)),
            (9, v2c.Counter64(96_114 + idx * 13)),
            (10, v2c.Counter64(734_002_118_840_551 + idx * 999_983)),
            (11, v2c.Counter64(5_120_448_901_233 + idx)),
            (12, v2c.Counter64(2_201_007 + idx * 104_729)),
            (13, v2c.Counter64(48_120 + idx)),
            (15, v2c.Gauge32(10_000 if idx % 4 else 1_000)),
            (16, v2c.Integer(2)),
            (17, v2c.Integer(1)),
            (18, v2c.OctetString(f"uplink to core-sw-{idx % 3 + 1} port {port} (LACP po{idx // 8})".encode())),
            (19, v2c.TimeTicks(0 if idx % 5 else 431_999_97)),
        ]

    # GETBULK with one varbind per column answers row by row: column order inside a row.
    varbinds = []
    idx = first_index
    while len(varbinds) < n_varbinds:
        for col, value in row(idx):
            varbinds.append((v2c.ObjectIdentifier(IFX + (col, idx)), value))
        idx += 1
    varbinds = varbinds[:n_varbinds]

    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, "public")
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 1_234_567_891)
    v2c.apiPDU.set_varbinds(pdu, varbinds)
    v2c.apiMessage.set_pdu(msg, pdu)
    return bytes(encoder.encode(msg))


def _pyasn1_python_values(data: bytes) -> list[tuple[tuple[int, ...], object]]:
    from pyasn1.codec.ber import decoder
    from pysnmp.proto.api import v2c

    msg, rest = decoder.decode(data, asn1Spec=v2c.Message())
    assert not rest
    out = []
    for oid, value in v2c.apiPDU.get_varbinds(v2c.apiMessage.get_pdu(msg)):
        v = value.asOctets() if hasattr(value, "asOctets") else int(value)
        out.append((tuple(oid), v))
    return out


def _time(fn, data: bytes, n: int, repeat: int, deadline: float) -> dict:
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            fn(data)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if time.monotonic() > deadline:
            break
    return {"batches": len(walls), "best_cpu_s": min(cpus), "best_s": min(walls), "median_s": statistics.median(walls)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Decode one ifXTable GetResponse N times with pyasn1 and with EyeNet.")
    p.add_argument("-n", type=int, default=500, help="decodes per batch, both decoders (default 500)")
    p.add_argument("--repeat", type=int, default=3, help="batches per decoder; the best counts (default 3)")
    p.add_argument("--varbinds", type=int, default=36, help="varbinds in the message, 25..50 is typical (default 36)")
    p.add_argument("--max-seconds", type=float, default=120.0, help="no new batch starts after this (default 120)")
    args = p.parse_args(argv)
    if not (1 <= args.n <= 1_000_000 and 1 <= args.repeat <= 100 and 1 <= args.varbinds <= 1000):
        p.error("-n 1..1000000, --repeat 1..100, --varbinds 1..1000")
    deadline = time.monotonic() + args.max_seconds

    import pyasn1
    import pysnmp
    from pyasn1.codec.ber import decoder
    from pysnmp.proto.api import v2c

    data = build_message(args.varbinds)
    spec = v2c.Message()

    def pyasn1_decode(b: bytes):
        return decoder.decode(b, asn1Spec=spec)

    report: dict = {
        "bench": "codec_micro",
        "message": "SNMPv2c GetResponse, ifXTable rows (18 columns per row)",
        "message_bytes": len(data),
        "varbinds_per_message": args.varbinds,
        "n": args.n,
        "repeat": args.repeat,
        "machine": {"python": platform.python_version(), "implementation": platform.python_implementation()},
    }
    reference = _pyasn1_python_values(data)
    assert len(reference) == args.varbinds

    res = _time(pyasn1_decode, data, args.n, args.repeat, deadline)
    vb = args.n * args.varbinds
    report["pyasn1"] = {
        "version": pyasn1.__version__,
        "pysnmp_version": pysnmp.__version__,
        **{k: round(v, 6) if isinstance(v, float) else v for k, v in res.items()},
        "varbinds_per_s": round(vb / res["best_cpu_s"], 1),
        "varbinds_per_wall_s": round(vb / res["best_s"], 1),
        "us_per_varbind": round(res["best_cpu_s"] / vb * 1e6, 3),
    }

    try:
        from eyenet.snmp.message import decode_message
    except Exception as exc:
        msg = f"import eyenet.snmp.message.decode_message failed: {type(exc).__name__}: {exc}"
        print(f"eyenet: skipped: {msg}", file=sys.stderr)
        report["eyenet"] = {"status": "skipped", "reason": msg}
        report["ratio_eyenet/pyasn1"] = None
    else:
        decoded = decode_message(data)
        got = [(tuple(vb_.oid), vb_.value) for vb_ in decoded.pdu.varbinds]
        report["agree"] = got == reference
        if not report["agree"]:
            diff = next((i, a, b) for i, (a, b) in enumerate(zip(got, reference)) if a != b) if len(got) == len(reference) else None
            print(f"eyenet and pyasn1 disagree on the message: {diff or (len(got), len(reference))}", file=sys.stderr)
        res = _time(decode_message, data, args.n, args.repeat, deadline)
        report["eyenet"] = {
            "status": "ok",
            **{k: round(v, 6) if isinstance(v, float) else v for k, v in res.items()},
            "varbinds_per_s": round(vb / res["best_cpu_s"], 1),
            "varbinds_per_wall_s": round(vb / res["best_s"], 1),
            "us_per_varbind": round(res["best_cpu_s"] / vb * 1e6, 3),
        }
        report["ratio_eyenet/pyasn1"] = round(report["eyenet"]["varbinds_per_s"] / report["pyasn1"]["varbinds_per_s"], 2)
    print(json.dumps(report), flush=True)
    return 0 if report.get("agree", True) else 1


if __name__ == "__main__":
    sys.exit(main())
