"""snmpsim variation module of the EyeNet demo lab: values that move with time.

snmpsim loads this file (it is copied next to the lab's data, see
``eyenet/demo/lab.py``) from ``--variation-modules-dir`` and runs it with
``exec``, so it is self-contained: standard library only, plain functions.
The same file is also importable as ``eyenet.demo.variation.eyenet_lab``,
which is how the lab writer builds record options and how the tests compute
what the agent must answer at a given moment.

Every value is a pure function of the lab time ``t`` (seconds since the lab
started): the same start time gives the same answers, whatever process asks
and however often, and a restarted simulator continues where it was.

The start time comes from the module options
(``--variation-module-options=eyenet_lab:start=EPOCH_SECONDS``), else from the
environment variable ``EYENET_LAB_START``, else it is the time the module was
loaded.

A record names this module in its tag and gives ``key=value`` options joined by
commas: ``OID|TAG:eyenet_lab|k=KIND,key=value,...``. Kinds:

``uptime``      ``boot=B``: TimeTicks of a device that was up B seconds when
                the lab started: ``(t + B) * 100 mod 2**32``.
``counter``     ``rate=R`` units a second on average, ``var=A,period=P,phase=F``
                (and ``var2,period2,phase2``): the rate is
                ``R * (1 + A sin(2 pi x / P + F) + A2 sin(...))``, x being the
                device's own time ``t + boot``; ``down=S-E;S-E`` windows (lab
                time) in which nothing is counted; ``bits=32`` wraps mod 2**32
                (else mod 2**64). The value is the integral of the rate since
                boot: it never goes down, and two counters with the same
                options differ only by their wrap.
``gauge``       ``base,amp,period,phase,amp2,period2,phase2``: a smooth wave
                around base; ``lo,hi`` clip it; ``at=S-E:V;S-E:V`` set it to V
                during lab-time windows; ``sub=N`` answers N - value (free
                memory beside used memory); ``scale=K`` multiplies it.
``status``      ``value=V,at=S-E:V2``: V, or V2 inside a window (ifOperStatus).
``lastchange``  ``boot=B,initial=TICKS,at=T1;T2``: sysUpTime ticks at the last
                event time <= t, else ``initial`` (ifLastChange).
``const``       ``v=VALUE`` (must be the last option, may contain commas): the
                value as written, for records that only need ``absent``.

Any kind takes ``absent=S-E;S-E``: inside a window the record does not exist
(GET answers noSuchInstance, GETNEXT skips it), as an LLDP neighbour that
disappears while its link is down.
"""

from __future__ import annotations

import math
import os
import time

_LOADED = time.time()
_STATE = {"start": None}
_PARSED = {}  # option string -> parsed options (records are few and fixed)

TWO_PI = 2.0 * math.pi


# -- the lab clock ------------------------------------------------------------


def set_start(start: float) -> None:
    """Fix the lab's start time (seconds since the epoch)."""
    _STATE["start"] = float(start)


def lab_start() -> float:
    if _STATE["start"] is None:
        env = os.environ.get("EYENET_LAB_START")
        _STATE["start"] = float(env) if env else _LOADED
    return _STATE["start"]


def lab_time(now: float | None = None) -> float:
    """Seconds since the lab started."""
    return (time.time() if now is None else now) - lab_start()


# -- options ------------------------------------------------------------------


def format_options(kind: str, **options) -> str:
    """The record value for ``kind`` with ``options`` (``v`` goes last, verbatim).

    Window options (``down``, ``absent``, ``at``) take lists: ``[(60, 90)]`` or,
    for ``at``, ``[(60, 90, 2)]``; ``lastchange``'s ``at`` takes ``[60, 90]``.
    """
    parts = [f"k={kind}"]
    verbatim = options.pop("v", None)
    for key, value in options.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            items = []
            for item in value:
                if isinstance(item, (list, tuple)):
                    text = f"{_num(item[0])}-{_num(item[1])}"
                    if len(item) > 2:
                        text += f":{_num(item[2])}"
                    items.append(text)
                else:
                    items.append(_num(item))
            if not items:
                continue
            value = ";".join(items)
        else:
            value = _num(value)
        parts.append(f"{key}={value}")
    if verbatim is not None:
        parts.append(f"v={verbatim}")
    return ",".join(parts)


def _num(value) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_options(text: str) -> dict:
    cached = _PARSED.get(text)
    if cached is not None:
        return cached
    options = {}
    rest = text
    verbatim = None
    index = rest.find(",v=")
    if rest.startswith("v="):
        verbatim, rest = rest[2:], ""
    elif index >= 0:
        verbatim, rest = rest[index + 3:], rest[:index]
    for part in rest.split(","):
        if not part:
            continue
        key, _, value = part.partition("=")
        options[key] = value
    if verbatim is not None:
        options["v"] = verbatim
    parsed = {"kind": options.pop("k", "const")}
    for key, value in options.items():
        if key in ("down", "absent"):
            parsed[key] = _windows(value)
        elif key == "at" and parsed["kind"] == "lastchange":
            parsed[key] = sorted(float(x) for x in value.split(";") if x)
        elif key == "at":
            parsed[key] = [(s, e, float(v)) for s, e, v in _windows(value, with_value=True)]
        elif key == "v":
            parsed[key] = value
        else:
            parsed[key] = float(value)
    _PARSED[text] = parsed
    return parsed


def _windows(text: str, with_value: bool = False) -> list:
    windows = []
    for item in text.split(";"):
        if not item:
            continue
        span, _, value = item.partition(":")
        start, _, end = span.partition("-")
        if with_value:
            windows.append((float(start), float(end), value))
        else:
            windows.append((float(start), float(end)))
    return windows


# -- the functions of time --------------------------------------------------------


def _wave_integral(x: float, period: float, phase: float) -> float:
    """Integral of sin(2 pi u / period + phase) du from 0 to x."""
    w = TWO_PI / period
    return (math.cos(phase) - math.cos(w * x + phase)) / w


def _rate_integral(o: dict, x: float) -> float:
    """Integral of the rate from device boot (x = 0) to device time x."""
    if x <= 0:
        return 0.0
    rate = o.get("rate", 0.0)
    total = x
    if o.get("var"):
        total += o["var"] * _wave_integral(x, o.get("period", 300.0), o.get("phase", 0.0))
    if o.get("var2"):
        total += o["var2"] * _wave_integral(x, o.get("period2", 3600.0), o.get("phase2", 0.0))
    return rate * total


def counter_value(o: dict, t: float) -> int:
    boot = o.get("boot", 0.0)
    counted = _rate_integral(o, t + boot)
    for start, end in o.get("down", ()):
        if t > start:
            counted -= _rate_integral(o, min(t, end) + boot) - _rate_integral(o, start + boot)
    modulus = 2**32 if o.get("bits") == 32 else 2**64
    return int(math.floor(max(counted, 0.0))) % modulus


def _override(o: dict, t: float):
    for start, end, value in o.get("at", ()):
        if start <= t < end:
            return value
    return None


def gauge_value(o: dict, t: float) -> int:
    value = _override(o, t)
    if value is None:
        x = t + o.get("boot", 0.0)
        value = o.get("base", 0.0)
        if o.get("amp"):
            value += o["amp"] * math.sin(TWO_PI * x / o.get("period", 300.0) + o.get("phase", 0.0))
        if o.get("amp2"):
            value += o["amp2"] * math.sin(TWO_PI * x / o.get("period2", 60.0) + o.get("phase2", 0.0))
        if "lo" in o:
            value = max(value, o["lo"])
        if "hi" in o:
            value = min(value, o["hi"])
    value *= o.get("scale", 1.0)
    if "sub" in o:
        value = o["sub"] - value
    return int(round(value))


def status_value(o: dict, t: float) -> int:
    value = _override(o, t)
    return int(o.get("value", 1.0) if value is None else value)


def uptime_ticks(o: dict, t: float) -> int:
    return int((t + o.get("boot", 0.0)) * 100) % 2**32


def lastchange_ticks(o: dict, t: float) -> int:
    last = None
    for event in o.get("at", ()):
        if event <= t:
            last = event
    if last is None:
        return int(o.get("initial", 0.0))
    return int((last + o.get("boot", 0.0)) * 100) % 2**32


def absent(o: dict, t: float) -> bool:
    return any(start <= t < end for start, end in o.get("absent", ()))


KINDS = {
    "counter": counter_value,
    "gauge": gauge_value,
    "status": status_value,
    "uptime": uptime_ticks,
    "lastchange": lastchange_ticks,
    "const": lambda o, t: o.get("v", ""),
}


def value_at(text: str, t: float):
    """What a record with option string ``text`` answers at lab time ``t``
    (None when it is absent)."""
    o = parse_options(text)
    if absent(o, t):
        return None
    return KINDS[o["kind"]](o, t)


# -- the snmpsim variation module protocol ----------------------------------------


def init(**context):
    options = context.get("options") or ""
    for part in options.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "start" and value.strip():
            set_start(float(value))


def variate(oid, tag, value, **context):
    if not context["nextFlag"] and not context["exactMatch"]:
        return context["origOid"], tag, context["errorStatus"]
    if context["setFlag"]:
        return context["origOid"], tag, context["errorStatus"]
    result = value_at(value, lab_time())
    if result is None:
        # GET: noSuchInstance; GETNEXT: endOfMibView, which makes snmpsim go on
        # to the next record.
        return (oid if context["nextFlag"] else context["origOid"]), tag, context["errorStatus"]
    return oid, tag, result


def record(oid, tag, value, **context):  # recording is not supported
    return oid, tag, value


def shutdown(**context):
    pass
