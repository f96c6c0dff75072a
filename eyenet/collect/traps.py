"""Traps and informs into polling: the listener of [traps], its notifications matched to
the monitored devices by source address (and a v1 Trap's agent-addr), and the ones that
say a device changed (linkDown, linkUp, coldStart, warmStart, authenticationFailure)
turned into a poll of that device at once, so its status and alerts follow in seconds.
Other traps become a `trap` event on the device's channel and are stored, within a
budget per device and over all devices (collect.trapbudget): beyond it they are counted
and logged at most once a minute, so a flood reaches neither the bus nor the disk.

Devices are matched by address: a device whose host is an IP address at once, one
whose host is a name once it has been resolved (every RESOLVE_EVERY seconds). Senders
that match no device are counted and logged at most once a minute, with the counts.
"""

import ipaddress
import logging
import socket as _stdsocket
import time
from collections import Counter
from collections.abc import Callable, Iterable

import trio

from eyenet.collect.trapbudget import TrapBudget
from eyenet.config import TrapsSettings
from eyenet.devices.model import DeviceConfig
from eyenet.events import Trap, now
from eyenet.health import Checks, Health, recently
from eyenet.snmp.display import varbind_json
from eyenet.snmp.listener import TrapListener
from eyenet.snmp.traps import Notification, NotificationReceiver
from eyenet.snmp.values import format_oid

log = logging.getLogger("eyenet.traps")

_SNMP_TRAPS = (1, 3, 6, 1, 6, 3, 1, 1, 5)
# coldStart, warmStart, linkDown, linkUp, authenticationFailure: poll at once.
POLL_NOW = frozenset(_SNMP_TRAPS + (n,) for n in (1, 2, 3, 4, 5))
RESOLVE_EVERY = 60.0
LOG_EVERY = 60.0
BATCH = 1000  # notifications handled in one scheduler turn, at most
REINDEX_EVERY = 1.0  # a sender no device matched makes the address index be built again, at most this often


def default_engine_id() -> bytes:
    """RFC 3411 text format under no enterprise: 0x80000000 04, then "eyenet:" and the host name."""
    return bytes.fromhex("8000000004") + f"eyenet:{_stdsocket.gethostname()}".encode()[:27]


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return None


def trap_event(device_id: str, note: Notification) -> Trap:
    return Trap(
        device_id, format_oid(note.trap_oid), note.version, note.inform, note.source[0], now(),
        None if note.uptime is None else note.uptime // 100, [varbind_json(vb) for vb in note.varbinds],
    )


class TrapService:
    """publish: where trap events go (the bus); keep: where they are stored (the store's queue)."""

    def __init__(
        self, settings: TrapsSettings, devices: Callable[[], Iterable[DeviceConfig]], poll_now: Callable[[str], bool],
        publish: Callable[[Trap], object], keep: Callable[[list[Trap]], None],
    ) -> None:
        self._settings = settings
        self._devices = devices
        self._poll_now = poll_now
        self._publish = publish
        self._keep = keep
        self.budget = TrapBudget(settings.device_rate, settings.total_rate)
        self.published = 0
        self.over_budget = 0
        self._over_budget_at: float | None = None
        self._budget_logged_at = -LOG_EVERY
        self._resolved: dict[str, list[str]] = {}  # host name -> its addresses
        self._index: dict[str, DeviceConfig] = {}  # address -> device
        self._indexed_at = -REINDEX_EVERY
        self._dropped = 0
        self._dropped_at: float | None = None
        self.listener: TrapListener | None = None
        self.polls_brought_forward = 0
        self.unknown = 0
        self._unknown_since: Counter[str] = Counter()
        self._logged_at = -LOG_EVERY

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        s = self._settings
        engine_id = bytes.fromhex(s.engine_id.removeprefix("0x")) if s.engine_id else default_engine_id()
        # Boots: the start time in seconds, which grows from one start to the next as RFC 3414 2.2.2 asks.
        receiver = NotificationReceiver(
            engine_id, frozenset(s.communities) or None, {u.user: u.usm_user() for u in s.users},
            boots=int(time.time()) % (2**31 - 1), started=trio.current_time(),
        )
        async with TrapListener.open(receiver, s.address, s.port, s.queue) as listener:
            self.listener = listener
            log.info("listening for traps and informs on [%s]:%d", s.address or "::", listener.port)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._resolve_names)
                task_status.started()
                notifications = listener.notifications
                async for note in notifications:
                    # What else waits is handled in the same turn: one scheduler turn per
                    # trap fell behind a flood of 10,000 a second.
                    now = trio.current_time()
                    self.handle(note, now)
                    for _ in range(BATCH):
                        try:
                            self.handle(notifications.receive_nowait(), now)
                        except trio.WouldBlock:
                            break

    def handle(self, note: Notification, now: float) -> None:
        device = self.match(note, now)
        name = format_oid(note.trap_oid)
        if device is None:
            self.unknown += 1
            self._unknown_since[note.source[0]] += 1
            if now - self._logged_at >= LOG_EVERY:
                self._logged_at = now
                log.warning(
                    "notifications from addresses of no monitored device: %s",
                    ", ".join(f"{host} (x{n})" for host, n in self._unknown_since.most_common(5)),
                )
                self._unknown_since.clear()
            return
        if note.trap_oid in POLL_NOW:
            if self._poll_now(device.id):
                self.polls_brought_forward += 1
                log.info("%s: trap %s: polling now", device.id, name)
            return
        if not self.budget.take(device.id, now):
            self.over_budget += 1
            self._over_budget_at = now
            if now - self._budget_logged_at >= LOG_EVERY:
                self._budget_logged_at = now
                log.warning(
                    "traps beyond [traps] device_rate or total_rate, neither pushed nor stored: %s",
                    ", ".join(f"{d} (x{n})" for d, n in self.budget.take_refused().most_common(5)),
                )
            return
        log.debug("%s: trap %s", device.id, name)
        event = trap_event(device.id, note)
        self._publish(event)
        self._keep([event])
        self.published += 1

    def match(self, note: Notification, now: float) -> DeviceConfig | None:
        candidates = [a for a in (_address(note.source[0]), note.agent_addr) if a]
        for fresh in (False, True):
            if fresh:
                if now - self._indexed_at < REINDEX_EVERY:
                    break
                self._reindex(now)
            for address in candidates:
                if (device := self._index.get(address)) is not None:
                    return device
        return None

    def _reindex(self, now: float) -> None:
        index: dict[str, DeviceConfig] = {}
        for device in self._devices():
            address = _address(device.host)
            for a in [address] if address else self._resolved.get(device.host, ()):
                index.setdefault(a, device)
        self._index, self._indexed_at = index, now

    async def _resolve_names(self) -> None:
        while True:
            names = {d.host for d in self._devices() if _address(d.host) is None}
            resolved = {}
            for name in names:
                try:
                    infos = await trio.socket.getaddrinfo(name, None, type=_stdsocket.SOCK_DGRAM)
                except (OSError, UnicodeError):
                    continue
                resolved[name] = sorted({str(ipaddress.ip_address(info[4][0])) for info in infos})
            self._resolved = resolved
            self._reindex(trio.current_time())
            await trio.sleep(RESOLVE_EVERY)

    def health(self) -> Health:
        if self.listener is None:
            checks = Checks()
            checks.down("the trap listener is not running")
            return checks.health()
        st = self.listener.stats
        checks = Checks({
            "notifications": st.notifications, "refused": st.refused, "dropped": st.dropped,
            "polls": self.polls_brought_forward, "unknownSenders": self.unknown, "published": self.published,
            "overBudget": self.over_budget,
        })
        now = trio.current_time()
        if st.dropped > self._dropped:
            self._dropped, self._dropped_at = st.dropped, now
        if recently(self._dropped_at, now):
            checks.degraded(f"notifications dropped ({st.dropped} in all): more arrived than could be handled")
        if recently(self._over_budget_at, now):
            checks.degraded(f"traps over the rate budget ({self.over_budget} in all): neither pushed nor stored")
        return checks.health()
