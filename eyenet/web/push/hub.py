"""The push hub: bus events -> event ids, replay ring, and fan-out to sessions.

One task reads the bus; each event gets the next event id (strictly increasing
for the life of the server and across restarts: ids start at the start time in
microseconds), is wrapped once in a :class:`~eyenet.web.wire.Wire`, kept in a
bounded replay ring, and offered to every session subscribed to one of its
channels. A session that is subscribed to ``device:D`` gets the detailed
variant (with interfaces) once, even when it also follows ``devices``.

Events that are already waiting on the bus when the hub wakes are routed
together, under one cork: each client gets all of their frames in one write.

A second task ticks a few times a second: it sends metrics that sessions held
back for their outbound budget, disconnects sessions whose token expired, and
forgets Socket.IO sessions that can no longer be recovered.

With the watch over the users (auth.watch), a token is also refused, and a session
disconnected as soon as the watch learns it, when its user is deleted or its tokens
revoked (a logout, a change of password, role or scope).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone, tzinfo

import attrs
import trio

from eyenet.auth.access import Access, TagsOf
from eyenet.auth.tokens import TokenAuthority, TokenError
from eyenet.auth.watch import UserWatch
from eyenet.bus import Bus, Lagged
from eyenet.config import PushSettings
from eyenet.events import Error, TopologyUpdate, now, rfc3339, to_json
from eyenet.health import Checks, Health
from eyenet.lograte import LogThrottle
from eyenet.web import inbound
from eyenet.web.conn import corked
from eyenet.web.logsafe import guarded_logger
from eyenet.web.push.ring import ReplayRing
from eyenet.web.push.sessions import ClientError, Principal, Session, Sink
from eyenet.web.push.wire import Wire

TICK = 0.1  # seconds between flushes of held-back metrics and expiry checks
BUS_BUFFER = 65_536  # events the hub may fall behind the bus before it drops (logged)
MAX_BATCH = 256  # events routed in one go (one write per client); bounds the time between two checkpoints


@attrs.frozen
class _Recoverable:
    sid: str
    user_id: str
    subscriptions: tuple[str, ...]
    left_at: float


class Hub:
    def __init__(
        self,
        bus: Bus,
        authority: TokenAuthority,
        device_tags: TagsOf,
        settings: PushSettings = PushSettings(),
        *,
        tz: tzinfo | None = None,
        log: logging.Logger | None = None,
        users: UserWatch | None = None,  # None: tokens are judged by signature and time alone (tests)
    ) -> None:
        self.bus = bus
        self.authority = authority
        self.users = users
        if users is not None:
            users.listen(self._revoked)
        self.access = Access(device_tags, settings.event_roles)
        self.settings = settings  # [push] of the configuration
        self.tz = tz
        self.log = log or guarded_logger("eyenet.push")
        self.failures = LogThrottle()  # a failure a client can trigger, it can repeat: a traceback a minute
        self._ids = itertools.count(time.time_ns() // 1000)
        self.ring = ReplayRing(settings.replay_events, settings.replay_bytes)
        self._channels: dict[str, dict[Session, None]] = {}
        self.sessions: dict[Session, None] = {}
        self._flush: dict[Session, None] = {}
        # Token expiry: a heap of (expires_at, entry); the entry's session in _expiring while it
        # is open and that is its current token. Closed sessions leave _expiring at once, so the
        # heap never holds a session (its transport, tasks and buffers), only stale numbers.
        self._expiry: list[tuple[float, int]] = []
        self._expiring: dict[int, Session] = {}
        self._expiry_seq = itertools.count()
        self._recoverable: dict[str, _Recoverable] = {}
        self._live: dict[str, Session] = {}  # open sessions by pid
        self._topology_cache: tuple[int, tuple[str, ...], bytes | None] | None = None
        self.published = 0
        self._running = False

    # -- event ids and the bus ----------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def error_envelope(self, code: str, message: str, details: Mapping | None = None) -> tuple[int, bytes]:
        """An `error` event for one client: (its id, its envelope JSON)."""
        event_id = self.next_id()
        return event_id, to_json(Error(code, message, now(), details).wire(event_id, tz=self.tz))

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            with self.bus.subscribe(maxlen=BUS_BUFFER, name="push") as events:
                nursery.start_soon(self._tick)
                self._running = True
                task_status.started()
                # What else is already buffered goes out with an event: each client then gets
                # the batch's frames in one write (conn.corked).
                async for batch in events.batches(MAX_BATCH):
                    with corked():
                        for item in batch:
                            if isinstance(item, Lagged):
                                self.log.warning("push fell behind the bus: %d events dropped", item.missed)
                            else:
                                self.publish(item)
            nursery.cancel_scope.cancel()

    def health(self) -> Health:
        checks = Checks({"sessions": len(self.sessions), "recoverable": len(self._recoverable),
                         "replayKept": len(self.ring), "replayBytes": self.ring.nbytes,
                         "replaySpan": round(self.ring.span(trio.current_time()), 1),
                         "heldBack": sum(len(s.pending) for s in self._flush)})
        if not self._running:
            checks.down("the push hub is not running")
        return checks.health()

    def publish(self, event) -> Wire:
        """Number, keep and fan out one event (the bus task calls this; so can tests)."""
        wire = Wire(event, self.next_id(), tz=self.tz)
        wire.sensitive = self._is_sensitive(wire)
        now = trio.current_time()
        self.ring.append(wire, now)
        self.published += 1
        self._route(wire, now)
        return wire

    def _route(self, wire: Wire, now: float) -> None:
        targets = [(subs, ch.startswith("device:")) for ch in wire.channels if (subs := self._channels.get(ch))]
        if len(targets) == 1:
            subs, detailed = targets[0]
            for session in list(subs):
                if session.may_see(wire):
                    session.offer(wire, detailed, now)
            return
        seen: set[Session] = set()
        for subs, detailed in targets:  # channels() lists device:D first: detailed wins
            for session in list(subs):
                if session not in seen:
                    seen.add(session)
                    if session.may_see(wire):
                        session.offer(wire, detailed, now)

    async def _tick(self) -> None:
        while True:
            await trio.sleep(TICK)
            now = trio.current_time()
            with corked():
                for session in list(self._flush):
                    if not session.flush(now):
                        self._flush.pop(session, None)
            wall = time.time()
            while self._expiry and self._expiry[0][0] <= wall:
                _, entry = heapq.heappop(self._expiry)
                session = self._expiring.pop(entry, None)
                if session is not None and not session.closed:
                    session.expire()
            for pid, rec in list(self._recoverable.items()):
                if wall - rec.left_at > self.settings.recovery_seconds:
                    del self._recoverable[pid]

    # -- sessions ---------------------------------------------------------------------------------

    def authenticate(self, token: object) -> Principal:
        """A verified token -> Principal; ClientError AUTH_REQUIRED / AUTH_INVALID / TOKEN_EXPIRED."""
        if token is None or token == "":
            raise ClientError("AUTH_REQUIRED", "a JWT is required (Socket.IO auth.token, Authorization: Bearer, ?token= or an auth message)", fatal=True)
        if not isinstance(token, str):
            raise ClientError("AUTH_INVALID", "the token must be a string", fatal=True)
        try:
            claims = self.authority.verify(token)
        except TokenError as exc:
            raise ClientError(exc.code, exc.message, fatal=True) from None
        if self.users is not None and (reason := self.users.refusal(claims)) is not None:
            raise ClientError("AUTH_INVALID", reason, fatal=True)
        return Principal(
            user_id=claims.user_id, role=claims.role, scope=tuple(claims.scope),
            expires_at=claims.expires_at.timestamp(), token_id=claims.token_id,
            event_key=self.authority.event_key(claims), generation=claims.generation,
        )

    def _revoked(self, user_ids: frozenset[str]) -> None:
        """The watch learnt that these users' tokens no longer stand: end their sessions."""
        assert self.users is not None
        standing = self.users.standing
        with corked():
            for session in list(self.sessions):
                p = session.principal
                if p.user_id in user_ids and (reason := standing.refusal(p.user_id, p.generation)) is not None:
                    session.fail(ClientError("AUTH_INVALID", reason, fatal=True))
        for pid, rec in list(self._recoverable.items()):
            if rec.user_id in user_ids:
                del self._recoverable[pid]

    def open_session(self, principal: Principal, sink: Sink, *, sid: str | None = None,
                     recoverable: bool = False, pid: str | None = None) -> Session:
        """`recoverable`: give the session a private id (pid) by which a Socket.IO
        client may recover it after its transport drops."""
        session = Session(self, principal, sink, self.settings, trio.current_time(), sid=sid)
        if recoverable or pid is not None:
            session.pid = pid or secrets.token_urlsafe(15)
            self._live[session.pid] = session
        self.sessions[session] = None
        self.watch_expiry(session)
        return session

    def watch_expiry(self, session: Session) -> None:
        """Watch the session's current token (a refresh replaces the watch of the one before)."""
        self._expiring.pop(session.expiry_entry, None)
        session.expiry_entry = next(self._expiry_seq)
        self._expiring[session.expiry_entry] = session
        heapq.heappush(self._expiry, (session.principal.expires_at, session.expiry_entry))
        self._trim_expiry()

    def close_session(self, session: Session, *, recoverable: bool = False) -> None:
        self.sessions.pop(session, None)
        self._flush.pop(session, None)
        for channel in session.subscriptions:
            self.unindex(session, channel)
        if session.pid is not None and self._live.get(session.pid) is session:
            del self._live[session.pid]
        if recoverable and session.pid is not None:
            self._recoverable[session.pid] = _Recoverable(
                session.sid, session.principal.user_id, tuple(session.subscriptions), time.time()
            )
        self._expiring.pop(session.expiry_entry, None)

    def _trim_expiry(self) -> None:
        # Entries of closed sessions and replaced tokens stay in the heap until their time
        # (hours for a client that reconnects every minute): once they are most of it, the heap
        # is rebuilt with the live ones (amortised O(1) a watch).
        if len(self._expiry) > 2 * len(self._expiring) + 64:
            self._expiry = [e for e in self._expiry if e[1] in self._expiring]
            heapq.heapify(self._expiry)

    def live(self, pid: object, principal: Principal) -> Session | None:
        """The open session with this pid when it is `principal`'s user's. A client that sends
        the pid of a session is no longer on that session's transport, whatever the server saw:
        its connection died half-open (a NAT or proxy forgot the flow)."""
        session = self._live.get(pid) if isinstance(pid, str) else None
        if session is None or session.principal.user_id != principal.user_id:
            return None
        return session

    def recover(self, pid: object, offset: object, principal: Principal, sink: Sink) -> Session | None:
        """Socket.IO connection state recovery: the session that left with `pid`,
        its subscriptions restored and every event after `offset` replayed, or
        None when that is not possible (unknown or stale pid, another user,
        events already gone from the ring)."""
        after = inbound.event_id(offset) if isinstance(offset, str) else None  # the client sends it as a string
        if not isinstance(pid, str) or after is None:
            return None
        rec = self._recoverable.get(pid)
        if rec is None or rec.user_id != principal.user_id:
            return None
        first = self.ring.first_id
        if first is not None and after < first - 1:
            return None
        del self._recoverable[pid]
        session = self.open_session(principal, sink, sid=rec.sid, pid=pid)
        for channel in rec.subscriptions:
            if channel.startswith("device:") and not self.access.device(principal.scope, channel[len("device:"):]):
                continue
            session.subscriptions[channel] = None
            self.index(session, channel)
        now = trio.current_time()
        for wire, detailed in self.missed(session, after)[0]:
            session.offer(wire, detailed, now)
        return session

    def index(self, session: Session, channel: str) -> None:
        self._channels.setdefault(channel, {})[session] = None

    def unindex(self, session: Session, channel: str) -> None:
        subs = self._channels.get(channel)
        if subs is not None:
            subs.pop(session, None)
            if not subs:
                del self._channels[channel]

    def wants_flush(self, session: Session) -> None:
        self._flush[session] = None

    def missed(self, session: Session, after: int, *, new_channel: str | None = None,
               earlier: Iterable[str] = ()) -> tuple[list[tuple[Wire, bool]], bool]:
        """The kept events with id > `after` that `session` would have received on
        its channels (only `new_channel`'s, minus what its `earlier` channels
        already brought, when replaying for a fresh subscription), each with its
        variant; and whether the ring still held everything after `after`."""
        first = self.ring.first_id
        complete = first is None or after >= first - 1
        tail: list[Wire] = []
        for wire in reversed(self.ring):
            if wire.id <= after:
                break
            tail.append(wire)
        earlier = set(earlier)
        subs = session.subscriptions
        out = []
        for wire in reversed(tail):
            if new_channel is not None:
                if new_channel not in wire.channels or earlier.intersection(wire.channels):
                    continue
            elif not any(ch in subs for ch in wire.channels):
                continue
            if session.may_see(wire):
                out.append((wire, session.follows_device(wire)))
        return out, complete

    # -- policy ------------------------------------------------------------------------------------

    def _is_sensitive(self, wire: Wire) -> bool:
        s = self.settings
        if wire.type in s.sensitive_events:
            return True
        if wire.device_id is None or not (s.sensitive_devices or s.sensitive_tags):
            return False
        if wire.device_id in s.sensitive_devices:
            return True
        return bool(s.sensitive_tags.intersection(self.access.tags_of(wire.device_id) or ()))

    def scoped_topology(self, wire: Wire, scope: tuple[str, ...]) -> bytes | None:
        """A topology:update cut down to the devices a scoped user may see (None:
        nothing left to tell them). Cached for the last event and scope."""
        cached = self._topology_cache
        if cached is not None and cached[0] == wire.id and cached[1] == scope:
            return cached[2]
        event: TopologyUpdate = wire.event
        visible = self.access.topology(scope, (d.id for d in event.devices), ((d.id, c) for d in event.devices for c in d.connections))
        assert visible is not None  # only scoped principals get a cut-down topology
        devices = [
            attrs.evolve(d, connections=tuple(c for c in d.connections if c in visible))
            for d in event.devices if d.id in visible
        ]
        seen = [
            tuple(link for link in links if link.source in visible and link.target in visible)
            for links in (event.links_added, event.links_removed)
        ]
        cut = attrs.evolve(event, devices=devices, links_added=seen[0], links_removed=seen[1])
        envelope = to_json(cut.wire(wire.id, tz=self.tz)) if devices else None
        self._topology_cache = (wire.id, scope, envelope)
        return envelope

    def timestamp(self, unix: float) -> str:
        return rfc3339(datetime.fromtimestamp(unix, timezone.utc), self.tz)
