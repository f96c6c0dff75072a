"""Polls each device on its own schedule: readings -> rates, status, events, history.

One task per device inside the poller's nursery, a global cap on polls in flight.
A device's first poll comes within seconds of adding it; after that it polls in its own
slot of the interval (a phase from a hash of its id), so that devices added together
do not poll in lockstep: the load is even over the interval, not a burst every minute.
What a poll means (status, metrics) is decided by pure functions below; the
tasks only schedule, read and publish.
"""

import functools
import gc
import logging
import math
import random
import re
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import NamedTuple

import attrs
import trio

from eyenet.bus import Bus
from eyenet.collect.history import Sample, StatusChange
from eyenet.collect.interfaces import InterfaceLabels, InterfaceReading, ignored
from eyenet.collect.profiles import ProfileSet
from eyenet.collect.rates import OCTET_BITS, PACKET_BITS, CounterSet, InterfaceKey, RateTracker, Reason, as_timeticks, explain
from eyenet.collect.read import DeviceReading, MetricPlan, read_device
from eyenet.config import Config
from eyenet.devices.model import DeviceConfig
from eyenet.events import INTERFACE_STATUSES, Availability, DeviceMetrics, DeviceStatus, InterfaceMetrics, MetricSource
from eyenet.health import Checks, Health
from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.errors import SnmpError, SnmpResolveError, SnmpTimeout

log = logging.getLogger("eyenet.poller")
_jitter = random.Random()  # not the process's shared one, which an embedding program or its tests may seed or draw from

SOFTWARE_LOOPBACK = 24  # IANAifType softwareLoopback: not traffic anyone pays for
STATUS_NUMBERS = {status: n for n, status in enumerate(INTERFACE_STATUSES, 1)}  # ifOperStatus: 1 up, 2 down, ...
FIRST_POLL_SPREAD = 10.0  # seconds over which the first polls are spread at most
EARLY_POLL_GAP = 1.0  # seconds at least between a device's polls that poll_now() brings forward
# A poll allocates a few thousand short-lived tuples (varbinds, OIDs, rows). With CPython's
# default first-generation threshold (700) the collector runs several times a poll, promotes
# answers still in use, and then walks the whole heap (every device's state) to free them:
# a quarter of the poller's CPU at 200 devices polled back to back. At this threshold they die young.
GC_THRESHOLD = 50_000


@attrs.define
class DeviceState:
    """What the poller remembers of one device between polls."""

    status: str | None = None
    reason: str | None = None
    last_seen: datetime | None = None
    uptime: int | None = None
    rates: RateTracker = attrs.Factory(RateTracker)
    # Interfaces seen oper up with admin up: going down later is news, being down from the start is not.
    seen_up: set = attrs.Factory(set)
    # What the last reading learnt of the device's shape: interface names, types and aliases,
    # and which CPU and memory methods work.
    labels: InterfaceLabels | None = None
    plan: MetricPlan | None = None
    # How cpu and memory were read at the last poll: a change is logged, once.
    sources: tuple[MetricSource, MetricSource] | None = None
    # Each interface's ifOperStatus (number) as last stored: only a change is stored again.
    stored_status: dict[int, int] = attrs.Factory(dict)


@attrs.frozen
class PollResult:
    status: str
    reason: str | None
    metrics: DeviceMetrics | None


def interface_key(itf: InterfaceReading) -> InterfaceKey:
    # A plain tuple equals (and hashes as) the InterfaceKey, without its constructor's call.
    return (itf.if_index, itf.if_name or itf.if_descr)


class Assessment(NamedTuple):
    status: Availability
    reason: str | None  # what is wrong, when degraded


def assess(reading: DeviceReading, state: DeviceState, duration: float, slow_after: float) -> Assessment:
    """up, or degraded with the reason: partial answers, slowness, monitored interfaces down."""
    down = [
        itf.if_name or itf.if_descr or str(itf.if_index)
        for itf in reading.interfaces
        if itf.admin_status == "up" and itf.oper_status != "up" and interface_key(itf) in state.seen_up
    ]
    if down:
        return Assessment(Availability.DEGRADED, "interfaces down: " + ", ".join(sorted(down)))
    if reading.problems:
        more = f" (+{len(reading.problems) - 1} more)" if len(reading.problems) > 1 else ""
        return Assessment(Availability.DEGRADED, f"partial: {reading.problems[0]}{more}")
    if duration > slow_after:
        return Assessment(Availability.DEGRADED, f"slow: answered in {duration:.1f} s")
    return Assessment(Availability.UP, None)


def failure_reason(exc: SnmpError) -> str:
    if isinstance(exc, SnmpTimeout):
        return "timeout"
    if isinstance(exc, SnmpResolveError):
        return "unresolvable host"
    # The client's messages start with "host:port: "; the device id already says which.
    return str(exc).split(": ", 1)[-1]


# The counters interface_rates reads, in CounterSet order: octets in and out, errors in and out.
_UNIT_BITS = (OCTET_BITS, OCTET_BITS, PACKET_BITS, PACKET_BITS)
_WIDTHS = {64: (64, 64, 32, 32), 32: (32, 32, 32, 32), None: (32, 32, 32, 32)}
_counter_set = functools.partial(tuple.__new__, CounterSet)  # all seven fields given: no need for its Python __new__


def interface_rates(
    reading: DeviceReading, state: DeviceState, monotonic: float, ignore: Sequence[re.Pattern] = (), not_present: bool = True
) -> list[InterfaceMetrics]:
    """Per-interface bit and error rates from this reading and the state's previous samples;
    the interfaces `ignored` says no one watches are flagged (and never watched for down)."""
    out = []
    keys = []
    seen_up = state.seen_up
    results = state.rates.results
    uptime = as_timeticks(reading.uptime_ticks)
    for itf in reading.interfaces:
        key = interface_key(itf)
        keys.append(key)
        skip = ignored(itf, ignore, not_present)
        if skip:
            seen_up.discard(key)
        elif itf.admin_status == "up":
            if itf.oper_status == "up":
                seen_up.add(key)
        else:
            seen_up.discard(key)  # shut down on purpose: no longer watched
        sample = _counter_set((
            (itf.in_octets, itf.out_octets, itf.in_errors, itf.out_errors), _WIDTHS[itf.counter_bits], uptime, monotonic,
            itf.counter_discontinuity, itf.speed, (itf.last_change, itf.oper_status),
        ))
        rates, reasons = results(key, sample, _UNIT_BITS)
        octets_in, octets_out, errors_in, errors_out = rates
        out.append(
            InterfaceMetrics(
                if_index=itf.if_index,
                name=itf.if_name or itf.if_descr,
                status=itf.oper_status if itf.oper_status else "unknown",
                bps_in=None if octets_in is None else octets_in * OCTET_BITS,
                bps_out=None if octets_out is None else octets_out * OCTET_BITS,
                errors_in=errors_in,
                errors_out=errors_out,
                speed=itf.speed,
                admin_status=itf.admin_status,
                description=itf.if_descr,
                alias=itf.if_alias,
                if_type=itf.if_type,
                mtu=itf.mtu,
                mac=itf.mac,
                changed_ago=changed_ago(itf.last_change, reading.uptime_ticks),
                ignored=skip,
                rate_reason=rate_reason(rates, reasons),
            )
        )
    state.rates.retain(keys)
    state.seen_up &= set(keys)
    return out


def rate_reason(rates: Sequence[float | None], reasons: Sequence[Reason]) -> str | None:
    """Why the interface's bit rates (its first two counters, octets in and out) are absent
    (the first one's reason); None when both are there."""
    for rate, reason in zip(rates[:2], reasons[:2]):
        if rate is None:
            return explain(reason)
    return None


def changed_ago(last_change: int | None, uptime_ticks: int | None) -> float | None:
    """Seconds between an interface's last status change (ifLastChange) and the poll's
    sysUpTime; None when unknown, or 0: the change was before the agent last started."""
    if not last_change or uptime_ticks is None or not 0 < last_change <= uptime_ticks:
        return None
    return (uptime_ticks - last_change) / 100


def bandwidth(reading: DeviceReading, interfaces: list[InterfaceMetrics]) -> tuple[float | None, float | None]:
    """Summed over up, non-loopback, not ignored interfaces (events.md); None until a rate exists."""
    types = {itf.if_index: itf.if_type for itf in reading.interfaces}
    counted = [m for m in interfaces if m.status == "up" and not m.ignored and types.get(m.if_index) != SOFTWARE_LOOPBACK]
    ins = [m.bps_in for m in counted if m.bps_in is not None]
    outs = [m.bps_out for m in counted if m.bps_out is not None]
    return (sum(ins) if ins else None, sum(outs) if outs else None)


# Where a poll's history samples and interface status changes go (the store's add_samples and
# add_status_changes in the app); they must not block.
SampleSink = Callable[[list[Sample]], None]
StatusSink = Callable[[list[StatusChange]], None]


class Poller:
    def __init__(
        self, client: SnmpClient, bus: Bus, samples: SampleSink | None, profiles: ProfileSet, config: Config,
        statuses: StatusSink | None = None,
    ):
        self._client = client
        self._bus = bus
        self._samples = samples
        self._statuses = statuses
        self._profiles = profiles
        self._config = config
        self._slots = trio.CapacityLimiter(config.poller.max_concurrent_polls)
        self._scopes: dict[str, trio.CancelScope] = {}
        self._nursery: trio.Nursery | None = None
        self.states: dict[str, DeviceState] = {}
        # Devices waiting for their next poll: device id -> (when it is due, its interval, its loop's scope).
        self._due: dict[str, tuple[float, float, trio.CancelScope]] = {}
        # Set to poll a device before its slot (a trap said something changed).
        self._wake: dict[str, trio.Event] = {}
        self._running = False
        self._stopping = False  # stop() was called: no poll starts any more
        self._in_flight = 0
        self._drained = trio.Event()  # set once stopping with no poll in flight
        self.polls = 0
        self.late_polls = 0  # polls that started later than late_after(interval) past their slot

    async def run(self, devices: list[DeviceConfig], *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for device in devices:
                    self.add(device)
                self._running = True
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._running = False
            gc.set_threshold(*threshold)

    async def stop(self, grace: float) -> tuple[int, int]:
        """Shut-down: no poll starts any more, those in flight get `grace` seconds to finish
        (their samples and events go out as usual), then the rest is cancelled. Returns how
        many polls (finished, cancelled); `run` then returns."""
        self._stopping = True
        for _, _, scope in list(self._due.values()):
            scope.cancel()  # waiting for their slot, or for a free one
        in_flight = self._in_flight
        if in_flight == 0:
            self._drained.set()
        with trio.move_on_after(grace):
            await self._drained.wait()
        cancelled = self._in_flight
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        return in_flight - cancelled, cancelled

    def set_profiles(self, profiles: ProfileSet) -> None:
        """Use these device profiles from the next poll on (a reload): each device matches them again."""
        self._profiles = profiles
        for state in self.states.values():
            state.plan = None

    def health(self) -> Health:
        now = trio.current_time()
        waiting = [now - due for due, interval, _ in self._due.values() if now - due > late_after(interval)]
        statuses = [s.status for s in self.states.values() if s.status is not None]
        checks = Checks({
            "devices": len(self._scopes), "up": statuses.count("up"), "degraded": statuses.count("degraded"),
            "down": statuses.count("down"), "polls": self.polls, "latePolls": self.late_polls, "overdue": len(waiting),
        })
        if not self._running:
            checks.down("the poller is not running")
        if waiting:
            checks.degraded(
                f"{len(waiting)} device(s) waiting past their poll slot, by up to {max(waiting):.0f} s "
                f"(at most {self._config.poller.max_concurrent_polls} polls run at once)"
            )
        return checks.health()

    def add(self, device: DeviceConfig) -> None:
        """Start polling a device (or restart it with a changed configuration)."""
        self.remove(device.id)
        scope = self._scopes[device.id] = trio.CancelScope()
        self._nursery.start_soon(self._device_loop, device, scope)

    def remove(self, device_id: str) -> None:
        scope = self._scopes.pop(device_id, None)
        self._wake.pop(device_id, None)
        if scope is not None:
            scope.cancel()

    def poll_now(self, device_id: str) -> bool:
        """Poll a device as soon as it is not polling (and at most once a second), instead of
        at its slot; False if it is not polled here. Its next slot stays as it was."""
        if device_id not in self._scopes:
            return False
        self._wake.setdefault(device_id, trio.Event()).set()
        return True

    def target(self, device: DeviceConfig) -> Target:
        s = self._config.snmp
        return Target(
            host=device.host, port=device.port, version=device.version, community=device.community,
            timeout=s.timeout, retries=s.retries, max_repetitions=s.max_repetitions,
            max_repetitions_cap=s.max_repetitions_cap, usm=device.usm_user(), context=device.context,
        )

    async def _device_loop(self, device: DeviceConfig, scope: trio.CancelScope) -> None:
        interval = device.poll_interval
        try:
            with scope:
                state = self.states.setdefault(device.id, DeviceState())
                target = self.target(device)
                due = trio.current_time() + _jitter.uniform(0, min(interval, FIRST_POLL_SPREAD))
                phase = poll_phase(device.id, interval)
                last = -EARLY_POLL_GAP
                while not self._stopping:
                    self._due[device.id] = (due, interval, scope)
                    wake = self._wake.setdefault(device.id, trio.Event())
                    with trio.move_on_at(due):
                        await wake.wait()
                    if wake.is_set():
                        self._wake[device.id] = trio.Event()
                        await trio.sleep_until(last + EARLY_POLL_GAP)  # a flood of traps is not a flood of polls
                    async with self._slots:
                        started = trio.current_time()
                        del self._due[device.id]  # polling now
                        self.polls += 1
                        if started - due > late_after(interval):
                            self.late_polls += 1
                        self._in_flight += 1
                        last = started
                        try:
                            await self.poll(device, target, state)
                        finally:
                            self._in_flight -= 1
                            if self._stopping and self._in_flight == 0:
                                self._drained.set()
                    if started >= due:  # an early poll keeps the slot it came before
                        due = next_slot(started, trio.current_time(), interval, phase)
        finally:
            # Only this loop's entry: add() may already have started the device's next loop.
            if self._due.get(device.id, (0, 0, None))[2] is scope:
                del self._due[device.id]
                self._wake.pop(device.id, None)

    async def poll(self, device: DeviceConfig, target: Target, state: DeviceState) -> PollResult:
        started = trio.current_time()
        when = datetime.now(timezone.utc)
        try:
            reading = await read_device(
                self._client, target, self._profiles, state.labels, self._config.poller.interface_refresh, state.plan
            )
        except SnmpError as exc:
            return self._publish_status(device, state, Availability.DOWN, failure_reason(exc), when)
        duration = trio.current_time() - started
        state.labels, state.plan = reading.labels, reading.plan
        state.last_seen = when
        state.uptime = None if reading.uptime_ticks is None else reading.uptime_ticks // 100
        settings = self._config.poller
        ignore = [re.compile(p) for p in settings.ignore_interfaces]  # from re's cache after the first poll
        interfaces = interface_rates(reading, state, trio.current_time(), ignore, settings.ignore_not_present)
        bw_in, bw_out = bandwidth(reading, interfaces)
        status, reason = assess(reading, state, duration, self._config.poller.slow_fraction * device.poll_interval)
        self._publish_status(device, state, status, reason, when)
        sources = metric_sources(reading)
        if sources != state.sources:
            log_sources(device.id, reading, sources, state.sources)
            state.sources = sources
        metrics = DeviceMetrics(
            device_id=device.id, timestamp=when, cpu=reading.cpu, memory=reading.memory,
            bandwidth_in=bw_in, bandwidth_out=bw_out, interfaces=interfaces, uptime=state.uptime,
            cpu_source=sources[0], memory_source=sources[1], identity=reading.identity, components=reading.components,
        )
        self._bus.publish(metrics)
        if self._samples is not None:
            self._samples(history_samples(device.id, int(when.timestamp()), metrics))
        if self._statuses is not None:
            self._statuses(status_changes(device.id, int(when.timestamp()), metrics, state.stored_status))
        return PollResult(status, reason, metrics)

    def _publish_status(self, device, state: DeviceState, status: str, reason: str | None, when: datetime) -> PollResult:
        if (status, reason) != (state.status, state.reason):
            state.status, state.reason = status, reason
            self._bus.publish(
                DeviceStatus(
                    device_id=device.id, status=status, timestamp=when, uptime=state.uptime,
                    last_seen=state.last_seen, reason=reason,
                )
            )
        return PollResult(status, reason, None)


def metric_sources(reading: DeviceReading) -> tuple[MetricSource, MetricSource]:
    """(cpu, memory): the method that gave each, or why none did."""
    return (
        MetricSource(reading.cpu_method, None if reading.cpu is not None else reading.cpu_reason or "not read"),
        MetricSource(reading.memory_method, None if reading.memory is not None else reading.memory_reason or "not read"),
    )


def log_sources(device_id: str, reading: DeviceReading, sources: tuple[MetricSource, ...], before: tuple | None) -> None:
    """One line per device when how its cpu and memory are read changes (not per poll): a
    warning when a vendor profile matched and still gives nothing, else information."""
    for metric, source, old in zip(("cpu", "memory"), sources, before or (None, None)):
        if source == old:
            continue
        if source.reason is None:
            log.info("%s: %s read by %s", device_id, metric, source.method)
        elif reading.profile != "generic":
            log.warning("%s: no %s: %s", device_id, metric, source.reason)
        else:
            log.info("%s: no %s: %s", device_id, metric, source.reason)


def late_after(interval: float) -> float:
    """How long past its slot a poll may start before it counts as late: a quarter of the
    interval (at least 2 s), time enough to wait for a free slot in a burst."""
    return max(2.0, interval / 4)


def poll_phase(device_id: str, interval: float) -> float:
    """Where in each interval a device polls: spread evenly by a hash of its id, the same every time."""
    return zlib.crc32(device_id.encode()) / 2**32 * interval


def next_slot(started: float, now: float, interval: float, phase: float) -> float:
    """The device's next poll: its first slot (phase + k x interval) at least half an interval
    after the last poll started, and not in the past: a poll that overran skips the slots it
    missed rather than bunching up, and a poll that waited for a free slot keeps its phase."""
    earliest = max(started + interval / 2, now)
    return phase + math.ceil((earliest - phase) / interval) * interval


def history_samples(device_id: str, ts: int, metrics: DeviceMetrics) -> list[Sample]:
    values = {
        "cpu": metrics.cpu, "memory": metrics.memory, "bandwidth.in": metrics.bandwidth_in,
        "bandwidth.out": metrics.bandwidth_out, "uptime": metrics.uptime,
    }
    for itf in metrics.interfaces:
        values[f"if.{itf.if_index}.in"] = itf.bps_in
        values[f"if.{itf.if_index}.out"] = itf.bps_out
    # Plain tuples in Sample's order (see Sample): ~100 a poll.
    return [(device_id, name, ts, float(v)) for name, v in values.items() if v is not None]


def status_changes(device_id: str, ts: int, metrics: DeviceMetrics, stored: dict[int, int]) -> list[StatusChange]:
    """The interfaces whose ifOperStatus differs from the one last stored (`stored`, by ifIndex,
    updated here; an interface first seen has none): a row per change, not per poll, so that a
    status history costs next to nothing while ports stay as they are."""
    changes = []
    for itf in metrics.interfaces:
        code = STATUS_NUMBERS[itf.status]
        if stored.get(itf.if_index) != code:
            stored[itf.if_index] = code
            changes.append(StatusChange(device_id, itf.if_index, ts, code))
    if len(stored) > len(metrics.interfaces):  # interfaces gone: forgotten
        present = {itf.if_index for itf in metrics.interfaces}
        for gone in stored.keys() - present:
            del stored[gone]
    return changes
