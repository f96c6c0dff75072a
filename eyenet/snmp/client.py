"""The Trio SNMP manager: one UDP socket per address family, shared by every request.

Requests are matched to responses by request-id (SNMPv3: msgID, the same number) and
source address; anything else that arrives (late answers, duplicates, datagrams from
elsewhere, garbage, v3 messages failing authentication) is counted and dropped, never
handed to the wrong caller.

SNMPv3: each agent's engine id, boots and time are discovered on first use and kept per
address, the time advancing with the clock. A Report that the agent rebooted (not in
time window, authenticated) or changed its engine id (unknown engine id) brings
rediscovery and one more try of the same request; other Reports end it with their
own SnmpUsmError.
"""

import operator
import random
import socket as _stdsocket
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, Self

import attrs
import trio

from eyenet.snmp.bulk import BulkTuner
from eyenet.snmp.datagrams import RECV_BUFFER, receive_forever
from eyenet.snmp.errors import (
    SnmpDecodeError,
    SnmpDecryptionError,
    SnmpError,
    SnmpErrorStatus,
    SnmpNotInTimeWindow,
    SnmpResolveError,
    SnmpTimeout,
    SnmpUnknownContext,
    SnmpUnknownEngineId,
    SnmpUnknownUser,
    SnmpUnsupportedSecurityLevel,
    SnmpUsmError,
    SnmpWalkError,
    SnmpWrongDigest,
)
from eyenet.snmp.message import (
    VERSIONS,
    BulkPdu,
    ErrorStatus,
    Message,
    Pdu,
    PduType,
    ScopedPdu,
    V3Framing,
    decode_message,
    encode_message,
    error_status_name,
    v3_framing,
)
from eyenet.snmp.usm import FLAG_PRIV, MAX_BOOTS, UsmParameters, UsmUser, open_framed, secure_message
from eyenet.snmp.values import Oid, Tag, VarBind, format_oid

_random = random.Random()  # not the process's shared one, which an embedding program or its tests may seed or draw from

# Remember this many finished request-ids to tell late answers and duplicates from foreign datagrams.
RECENT_IDS = 8192
RESOLVE_TTL = 300.0
MAX_TOO_BIG = 8
# Requests in flight to one agent: enough to overlap a device's column walks, few enough
# that an agent answering one request at a time (most do) is not flooded into dropping some.
PER_AGENT_IN_FLIGHT = 4
_END_OF_MIB_VIEW = int(Tag.END_OF_MIB_VIEW)  # a plain int: compared once per varbind

# A socket address as getaddrinfo gives it: (host, port), or (host, port, flowinfo, scope_id) for IPv6.
SockAddr = tuple[Any, ...]

# The Reports an agent answers a refused v3 request with (RFC 3414 usmStats, RFC 3413
# snmpUnavailableContexts/snmpUnknownContexts), by their counter's OID without the ".0".
_USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
UNSUPPORTED_SEC_LEVELS = _USM_STATS + (1,)
NOT_IN_TIME_WINDOWS = _USM_STATS + (2,)
UNKNOWN_USER_NAMES = _USM_STATS + (3,)
UNKNOWN_ENGINE_IDS = _USM_STATS + (4,)
WRONG_DIGESTS = _USM_STATS + (5,)
DECRYPTION_ERRORS = _USM_STATS + (6,)
UNAVAILABLE_CONTEXTS = (1, 3, 6, 1, 6, 3, 12, 1, 4)
UNKNOWN_CONTEXTS = (1, 3, 6, 1, 6, 3, 12, 1, 5)


@attrs.frozen
class Target:
    """Where and how to reach one agent. The community never appears in repr or errors."""

    host: str
    port: int = 161
    version: str = attrs.field(default="2c", validator=attrs.validators.in_(VERSIONS))
    community: str = attrs.field(default="public", repr=False)
    timeout: float = 1.0
    retries: int = 2
    max_repetitions: int = 25
    max_repetitions_cap: int = 100
    # SNMPv3 (version "3"): the user, and the context: its name, and its engine id when it
    # is not the agent's own (a proxy's targets).
    usm: UsmUser | None = None
    context: str = ""
    context_engine_id: bytes | None = None

    def __attrs_post_init__(self) -> None:
        if (self.version == "3") != (self.usm is not None):
            raise SnmpError(f"{self.name}: SNMPv3, and only SNMPv3, needs a user")

    @property
    def name(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def describe_user(self) -> str:
        """'user NAME (LEVEL)' for messages; never a password."""
        return f"user {self.usm.name!r} ({self.usm.level})" if self.usm is not None else "no user"


@attrs.define
class ClientStats:
    requests: int = 0
    sent: int = 0
    responses: int = 0
    timeouts: int = 0
    late: int = 0
    duplicate: int = 0
    foreign: int = 0
    malformed: int = 0


class _Resolved(NamedTuple):
    expires: float  # trio.current_time()
    family: int
    address: SockAddr


class _Answer(NamedTuple):
    pdu: Pdu
    nbytes: int
    rtt: float  # seconds from the send that was answered
    usm: UsmParameters | None = None  # SNMPv3: the answer's security parameters
    authenticated: bool = False


@attrs.define
class _Engine:
    """What a manager knows of an agent's SNMPv3 engine (RFC 3414 2.3): its id, and its
    boots and time as last heard, at `at` (trio time)."""

    id: bytes
    boots: int
    time: int
    at: float

    def time_now(self, now: float) -> int:
        return min(MAX_BOOTS, self.time + int(now - self.at))


@attrs.define(eq=False)
class _Pending:
    addr: SockAddr
    community: bytes
    # SNMPv3: v3 is set, and user is the requester (None for engine discovery).
    v3: bool = False
    user: UsmUser | None = None
    event: trio.Event = attrs.Factory(trio.Event)
    response: Pdu | None = None
    usm: UsmParameters | None = None
    authenticated: bool = False
    nbytes: int = 0
    sent_at: float = 0.0
    rtt: float = 0.0
    # The semaphores held for it, released once (by _free) as soon as the answer arrives: the
    # agent is free then, not when the waiting task next runs, which on a busy loop is later.
    held: tuple[trio.Semaphore, ...] = ()


class SnmpClient:
    """Use as `async with SnmpClient.open() as client:`; every method is safe to call concurrently."""

    def __init__(self, nursery: trio.Nursery, max_in_flight: int, per_agent: int = PER_AGENT_IN_FLIGHT):
        self._nursery = nursery
        self._slots = trio.Semaphore(max_in_flight)
        self._per_agent = per_agent
        self._agent_slots: dict[SockAddr, trio.Semaphore] = {}
        self._sockets: dict[int, _stdsocket.socket] = {}
        self._pending: dict[int, _Pending] = {}
        self._recent: OrderedDict[int, bool] = OrderedDict()  # request-id -> answered?
        self._next_id = _random.randrange(1, 2**31 - 1)
        self._resolved: dict[tuple[str, int], _Resolved] = {}
        self._tuners: dict[tuple[str, int], BulkTuner] = {}
        self._engines: dict[SockAddr, _Engine] = {}
        self._discovering: dict[SockAddr, trio.Lock] = {}
        # The privacy salt (RFC 3826 3.1.2.1: a 64-bit counter, started at random).
        self._salt = _random.getrandbits(64)
        self.stats = ClientStats()

    @classmethod
    @asynccontextmanager
    async def open(cls, max_in_flight: int = 1000, per_agent: int = PER_AGENT_IN_FLIGHT) -> AsyncIterator[Self]:
        error: Exception | None = None
        async with trio.open_nursery() as nursery:
            client = cls(nursery, max_in_flight, per_agent)
            try:
                yield client
            except Exception as exc:
                # Re-raised outside the nursery, so callers catch SnmpError, not an ExceptionGroup.
                error = exc
            finally:
                nursery.cancel_scope.cancel()
        # Closed only once the receive loops are gone: a loop must never see a closed socket.
        for sock in client._sockets.values():
            sock.close()
        if error is not None:
            raise error

    # -- public operations --------------------------------------------------

    async def get(self, target: Target, oids: list[Oid]) -> list[VarBind]:
        resp = await self._exchange(target, Pdu(PduType.GET, 0, 0, 0, tuple(map(VarBind.null, oids))))
        return list(self._checked(target, resp).varbinds)

    async def get_next(self, target: Target, oids: list[Oid]) -> list[VarBind]:
        resp = await self._exchange(target, Pdu(PduType.GET_NEXT, 0, 0, 0, tuple(map(VarBind.null, oids))))
        return list(self._checked(target, resp).varbinds)

    async def get_bulk(self, target: Target, oids: list[Oid], non_repeaters: int = 0, max_repetitions: int = 10) -> list[VarBind]:
        if target.version == "1":
            raise SnmpError(f"{target.name}: GETBULK does not exist in SNMPv1; use get_next")
        resp = await self._exchange(target, BulkPdu(0, non_repeaters, max_repetitions, tuple(map(VarBind.null, oids))))
        return list(self._checked(target, resp).varbinds)

    async def walk(self, target: Target, root: Oid, max_rows: int | None = None, last_row: Oid | None = None) -> list[VarBind]:
        """Every varbind under root, in order: GETBULK for v2c, GETNEXT for v1.

        max_rows: how many rows the caller expects (a column's ifNumber, say). Requests then
        ask for no more than that plus one, instead of reading far into the next column; a
        wrong hint costs extra requests, never varbinds.
        last_row: the index (the OID past root) of the last row the caller wants. The walk
        ends there instead of reading on to see the column end, and max_rows then needs no
        "plus one": a caller that knows the table's rows saves the request that finds its end."""
        return (await self.walk_columns(target, [root], max_rows, last_row))[0]

    async def walk_columns(
        self, target: Target, roots: Sequence[Oid], max_rows: int | None = None, last_row: Oid | None = None
    ) -> list[list[VarBind]]:
        """walk() of several subtrees side by side, one list per root, each what walk() gives.

        Every request carries the next OID of each column still going (a GETBULK of N
        varbinds, or a GETNEXT of N in v1), and a column drops out where it ends; so a
        table's columns share requests instead of one walk, and its overshoot into the next
        column, each. GETBULK answers hold max-repetitions x N varbinds, so max-repetitions is
        the self-tuned size divided by N: the tuner counts varbinds per answer either way.
        Raises like walk(); an error status in an answer fails the whole call (walk the
        columns one by one to tell which of them the agent cannot serve)."""
        roots = [tuple(root) for root in roots]
        for root in roots:
            if not root or root[0] > 2:
                raise SnmpError(f"{target.name}: cannot walk {format_oid(root) or 'an empty OID'}: it must start with 0, 1 or 2")
        out: list[list[VarBind]] = [[] for _ in roots]
        current = [root if len(root) > 1 else root + (0,) for root in roots]  # BER cannot carry a one-arc OID
        active = list(range(len(roots)))  # columns still going, in request order
        # v1 has no GETBULK, so nothing to tune: GETNEXT then.
        tuner = None if target.version == "1" else self.tuner(target)
        too_big = 0
        while active:
            n = len(active)
            request = tuple(VarBind.null(current[j]) for j in active)
            if tuner is None:
                repetitions = 1
                answer = await self._exchange_timed(target, Pdu(PduType.GET_NEXT, 0, 0, 0, request))
                pdu = answer.pdu
                if pdu.error_status == ErrorStatus.NO_SUCH_NAME and (n == 1 or 0 < pdu.error_index <= n):
                    del active[pdu.error_index - 1 if n > 1 else 0]  # v1's end of the MIB view, for that column
                    continue
                self._checked(target, pdu)
                if len(pdu.varbinds) != n:
                    raise SnmpError(f"{target.name}: GETNEXT answered with {len(pdu.varbinds)} varbinds for {n}")
            else:
                # Shrink before each retry: large answers are the ones that get lost. An agent
                # that cannot send big answers at all (values of many KB: VRP's port lists)
                # never answers them, so the target's retries count only once a request can
                # shrink no more: the walk goes on, a row at a time if need be.
                failures = attempts = 0
                while True:
                    repetitions = max(1, tuner.size // n)
                    if max_rows is not None:
                        more = max_rows - min(len(out[j]) for j in active) + (last_row is None)
                        repetitions = max(1, min(repetitions, more))
                    try:
                        attempts += 1
                        answer = await self._exchange_timed(target, BulkPdu(0, 0, repetitions, request), attempts=1)
                        break
                    except SnmpTimeout:
                        tuner.on_timeout()
                        # A failure counts once the request can shrink no more.
                        failures += max(1, tuner.size // n) >= repetitions
                        if failures > target.retries:
                            raise SnmpTimeout(
                                f"{target.name}: no response to GETBULK after {attempts} attempts "
                                f"of {target.timeout:g}s (walking {', '.join(format_oid(roots[j]) for j in active)})"
                            ) from None
                pdu = answer.pdu
                if pdu.error_status == ErrorStatus.TOO_BIG:
                    too_big += 1
                    if repetitions * n <= tuner.floor or repetitions == 1 or too_big > MAX_TOO_BIG:
                        raise SnmpErrorStatus(
                            f"{target.name}: tooBig even for {repetitions} repetitions of {n} at {format_oid(current[active[0]])}",
                            pdu.error_status,
                            pdu.error_index,
                        )
                    tuner.on_too_big(repetitions * n)
                    continue
                too_big = 0
                self._checked(target, pdu)
                if not pdu.varbinds:
                    raise SnmpWalkError(f"{target.name}: agent answered GETBULK at {format_oid(current[active[0]])} with no varbinds")
            varbinds = pdu.varbinds
            ended = False
            going = []
            for k, j in enumerate(active):
                # Repetition-major (RFC 3416 4.2.3): column k's varbinds are every n-th from k.
                # A trimmed answer may hold none of it: the column then asks again.
                column = varbinds[k::n] if n > 1 else varbinds
                if not column:
                    going.append(j)
                    continue
                root = roots[j]
                depth = len(root)
                oids = [vb[0] for vb in column]
                # Fast path: strictly increasing OIDs whose last one is still inside the subtree
                # (a subtree is one contiguous range) are all wanted: no per-varbind checks.
                if (
                    column[-1][1] != _END_OF_MIB_VIEW
                    and oids[-1][:depth] == root
                    and oids[0] > current[j]
                    and all(map(operator.lt, oids, oids[1:]))
                ):
                    out[j].extend(column)
                    current[j] = oids[-1]
                    if last_row is None or oids[-1][depth:] < last_row:
                        going.append(j)
                    continue
                kept = out[j]
                for vb in column:
                    if vb[1] == _END_OF_MIB_VIEW:
                        break
                    # Order before subtree: an agent that loops back to an OID before root (say, the
                    # start of its MIB) has also left the subtree, and must not end the walk silently.
                    _check_increasing(target, current[j], vb[0])
                    if vb[0][:depth] != root:
                        break
                    kept.append(vb)
                    current[j] = vb[0]
                else:
                    if last_row is None or current[j][depth:] < last_row:
                        going.append(j)
                    continue
                ended = True
            if tuner is not None:
                tuner.on_response(repetitions * n, len(varbinds), answer.nbytes, answer.rtt, target.timeout, ended)
            active = going
        return out

    def tuner(self, target: Target) -> BulkTuner:
        key = (target.host, target.port)
        tuner = self._tuners.get(key)
        if tuner is None:
            tuner = self._tuners[key] = BulkTuner(size=target.max_repetitions, cap=target.max_repetitions_cap)
        return tuner

    # -- request / response -------------------------------------------------

    def _checked(self, target: Target, pdu: Pdu) -> Pdu:
        if pdu.error_status:
            where = ""
            if 0 < pdu.error_index <= len(pdu.varbinds):
                where = f" at {format_oid(pdu.varbinds[pdu.error_index - 1].oid)}"
            raise SnmpErrorStatus(
                f"{target.name}: agent answered {error_status_name(pdu.error_status)}{where}", pdu.error_status, pdu.error_index
            )
        return pdu

    async def _exchange(self, target: Target, pdu: Pdu | BulkPdu, attempts: int | None = None) -> Pdu:
        """Send pdu (its request-id is replaced) and return the matching response's."""
        return (await self._exchange_timed(target, pdu, attempts)).pdu

    async def _exchange_timed(self, target: Target, pdu: Pdu | BulkPdu, attempts: int | None = None) -> _Answer:
        """As _exchange, with the response's size and round-trip time (from the send, not the queue)."""
        if target.usm is not None:
            return await self._exchange_v3(target, target.usm, pdu, attempts)
        version = VERSIONS[target.version]
        family, addr = await self._resolve(target)
        rid = self._new_request_id()
        community = target.community.encode()
        try:
            data = encode_message(Message(version, community, attrs.evolve(pdu, request_id=rid)))
        except ValueError as exc:
            raise SnmpError(f"{target.name}: cannot encode the request: {exc}") from None
        return await self._transact(target, family, addr, rid, data, attempts, _Pending(addr[:2], community))

    async def _transact(
        self, target: Target, family: int, addr: SockAddr, rid: int, data: bytes, attempts: int | None, pending: _Pending
    ) -> _Answer:
        """Send data (a request whose id is rid) and wait for the answer that pending describes."""
        sock = self._socket(family)
        attempts = target.retries + 1 if attempts is None else attempts
        self.stats.requests += 1
        # Per agent first (agents answer one request at a time and drop bursts), then overall;
        # a free slot is taken at once: the common case then costs no trip through the scheduler
        # (and no WouldBlock raised and caught, which costs more than the check).
        per_agent = self._agent_slots.get(addr)
        if per_agent is None:
            per_agent = self._agent_slots[addr] = trio.Semaphore(self._per_agent)
        for slots in (per_agent, self._slots):
            if slots.value:
                slots.acquire_nowait()
                continue
            try:
                await slots.acquire()
            except BaseException:
                if slots is self._slots:
                    per_agent.release()
                raise
        pending.held = (self._slots, per_agent)
        self._pending[rid] = pending
        try:
            for _ in range(attempts):
                self.stats.sent += 1
                pending.sent_at = trio.current_time()
                await self._send(sock, data, addr, target)
                with trio.move_on_after(target.timeout):
                    await pending.event.wait()
                if pending.response is not None:
                    return _Answer(pending.response, pending.nbytes, pending.rtt, pending.usm, pending.authenticated)
        finally:
            _free(pending)
            del self._pending[rid]
            self._remember(rid, pending.response is not None)
        self.stats.timeouts += 1
        hint = ""
        if pending.user is not None and pending.user.flags & FLAG_PRIV:
            # An agent drops what it cannot decrypt without a word (net-snmp does).
            hint = f" (SNMPv3 {target.describe_user()}: a wrong privacy password or protocol also goes unanswered)"
        raise SnmpTimeout(f"{target.name}: no response after {attempts} attempt(s) of {target.timeout:g}s{hint}")

    # -- SNMPv3 -------------------------------------------------------------

    async def _exchange_v3(self, target: Target, user: UsmUser, pdu: Pdu | BulkPdu, attempts: int | None) -> _Answer:
        family, addr = await self._resolve(target)
        engine = self._engines.get(addr)
        if engine is None:
            engine = await self._discover(target, family, addr, None)
        resynced = rediscovered = False
        while True:
            rid = self._new_request_id()
            self._salt = (self._salt + 1) & 0xFFFFFFFFFFFFFFFF
            context_engine = target.context_engine_id if target.context_engine_id is not None else engine.id
            scoped = ScopedPdu(context_engine, target.context.encode(), attrs.evolve(pdu, request_id=rid))
            try:
                data = secure_message(rid, scoped, user, engine.id, engine.boots, engine.time_now(trio.current_time()), self._salt)
            except ValueError as exc:
                raise SnmpError(f"{target.name}: cannot encode the request: {exc}") from None
            answer = await self._transact(target, family, addr, rid, data, attempts, _Pending(addr[:2], b"", True, user))
            params = answer.usm
            assert params is not None  # every v3 answer has them
            if answer.pdu.type == PduType.RESPONSE:
                self._heard(addr, engine, params)
                return answer
            kind = answer.pdu.varbinds[0].oid[:-1] if answer.pdu.varbinds else ()
            if kind == NOT_IN_TIME_WINDOWS and answer.authenticated and not resynced:
                # Rebooted, or our clock drifted: the authenticated Report carries its boots and time.
                resynced = True
                engine = self._engines[addr] = _Engine(params.engine_id, params.boots, params.time, trio.current_time())
                continue
            if kind == UNKNOWN_ENGINE_IDS and not rediscovered:
                rediscovered = True
                engine = await self._discover(target, family, addr, engine)
                continue
            raise self._report_error(target, user, kind, answer.pdu)

    def _heard(self, addr: SockAddr, engine: _Engine, params: UsmParameters) -> None:
        """An authentic answer's boots and time, when newer (RFC 3414 3.2.7 b)."""
        if params.engine_id == engine.id and (params.boots, params.time) > (engine.boots, engine.time):
            engine.boots, engine.time, engine.at = params.boots, params.time, trio.current_time()
            self._engines[addr] = engine

    async def _discover(self, target: Target, family: int, addr: SockAddr, stale: _Engine | None) -> _Engine:
        """The agent's engine id, boots and time (RFC 3414 4): a probe without a user draws
        a Report of usmStatsUnknownEngineIDs that carries them. One probe at a time per agent."""
        lock = self._discovering.setdefault(addr, trio.Lock())
        async with lock:
            known = self._engines.get(addr)
            if known is not None and known is not stale:  # another request found it meanwhile
                return known
            rid = self._new_request_id()
            probe = secure_message(rid, ScopedPdu(b"", b"", Pdu(PduType.GET, rid)), None, b"", 0, 0, 0)
            try:
                answer = await self._transact(target, family, addr, rid, probe, None, _Pending(addr[:2], b"", True))
            except SnmpTimeout as exc:
                raise SnmpTimeout(f"{exc} (SNMPv3 engine discovery)") from None
            params = answer.usm
            if params is None or not params.engine_id:
                raise SnmpUsmError(f"{target.name}: SNMPv3 engine discovery was answered without an engine id")
            engine = self._engines[addr] = _Engine(params.engine_id, params.boots, params.time, trio.current_time())
            return engine

    def _report_error(self, target: Target, user: UsmUser, kind: Oid, pdu: Pdu) -> SnmpError:
        who = f"{target.name}: {target.describe_user()}"
        if kind == UNKNOWN_USER_NAMES:
            return SnmpUnknownUser(f"{who}: the agent has no such user (usmStatsUnknownUserNames)")
        if kind == WRONG_DIGESTS:
            return SnmpWrongDigest(
                f"{who}: wrong digest: the authentication password or protocol ({user.auth_protocol}) is not the agent's "
                "(usmStatsWrongDigests)"
            )
        if kind == DECRYPTION_ERRORS:
            return SnmpDecryptionError(
                f"{who}: the agent could not decrypt the request: the privacy protocol ({user.priv_protocol}) "
                "or password is not the agent's (usmStatsDecryptionErrors)"
            )
        if kind == UNSUPPORTED_SEC_LEVELS:
            return SnmpUnsupportedSecurityLevel(
                f"{who}: the agent does not support this security level for the user (usmStatsUnsupportedSecLevels)"
            )
        if kind == NOT_IN_TIME_WINDOWS:
            return SnmpNotInTimeWindow(
                f"{who}: the request is still not in the agent's time window after resynchronising (usmStatsNotInTimeWindows)"
            )
        if kind == UNKNOWN_ENGINE_IDS:
            return SnmpUnknownEngineId(f"{who}: the agent still reports an unknown engine id after rediscovery (usmStatsUnknownEngineIDs)")
        if kind in (UNKNOWN_CONTEXTS, UNAVAILABLE_CONTEXTS):
            name = "snmpUnknownContexts" if kind == UNKNOWN_CONTEXTS else "snmpUnavailableContexts"
            return SnmpUnknownContext(f"{who}: the agent does not serve context {target.context!r} ({name})")
        what = format_oid(pdu.varbinds[0].oid) if pdu.varbinds else "no varbind"
        return SnmpUsmError(f"{who}: the agent refused the request with a Report ({what})")

    @staticmethod
    async def _send(sock: _stdsocket.socket, data: bytes, addr: SockAddr, target: Target) -> None:
        """A non-blocking send that waits only when the kernel's buffer is full."""
        while True:
            try:
                sock.sendto(data, addr)
                return
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
            except OSError as exc:
                raise SnmpError(f"{target.name}: cannot send: {exc.strerror or exc}") from None

    def _new_request_id(self) -> int:
        while True:
            self._next_id = self._next_id + 1 if self._next_id < 2**31 - 1 else 1
            if self._next_id not in self._pending:
                return self._next_id

    def _remember(self, rid: int, answered: bool) -> None:
        self._recent[rid] = answered
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)

    def _deliver(self, data: bytes, addr: SockAddr) -> None:
        try:
            # A v3 message's framing first: its PDU is read once the request and its user are known.
            framing = v3_framing(data)
            if framing is not None:
                self._deliver_v3(data, framing, addr)
                return
            msg = decode_message(data)
        except SnmpDecodeError:
            self.stats.malformed += 1
            return
        if not isinstance(msg, Message) or not isinstance(msg.pdu, Pdu) or msg.pdu.type not in (PduType.RESPONSE, PduType.REPORT):
            self.stats.foreign += 1
            return
        rid = msg.pdu.request_id
        pending = self._pending.get(rid)
        if pending is None:
            self._unmatched(rid)
            return
        if addr[:2] != pending.addr or msg.community != pending.community or pending.v3:
            self.stats.foreign += 1
            return
        self._answered(pending, msg.pdu, len(data))

    def _deliver_v3(self, data: bytes, framing: V3Framing, addr: SockAddr) -> None:
        msg_id = framing[0]
        pending = self._pending.get(msg_id)
        if pending is None:
            self._unmatched(msg_id)
            return
        if addr[:2] != pending.addr or not pending.v3:
            self.stats.foreign += 1
            return
        try:
            opened = open_framed(data, framing, pending.user)
        except SnmpDecodeError:  # malformed, or fails authentication or decryption: not from the agent we asked
            self.stats.malformed += 1
            return
        pdu = opened.scoped.pdu
        if not isinstance(pdu, Pdu) or pdu.type not in (PduType.RESPONSE, PduType.REPORT):
            self.stats.foreign += 1
            return
        # A Response comes at the request's security level; Reports may come lower (RFC 3414 3.1.1).
        if pdu.type == PduType.RESPONSE and (opened.flags & 3) != (pending.user.flags if pending.user is not None else 0):
            self.stats.foreign += 1
            return
        self._answered(pending, pdu, len(data), opened.parameters, opened.authenticated)

    def _unmatched(self, rid: int) -> None:
        if rid in self._recent:
            if self._recent[rid]:
                self.stats.duplicate += 1
            else:
                self.stats.late += 1
        else:
            self.stats.foreign += 1

    def _answered(self, pending: _Pending, pdu: Pdu, nbytes: int, usm: UsmParameters | None = None, authenticated: bool = False) -> None:
        if pending.response is not None:
            self.stats.duplicate += 1
            return
        self.stats.responses += 1
        pending.response = pdu
        pending.usm = usm
        pending.authenticated = authenticated
        pending.nbytes = nbytes
        pending.rtt = trio.current_time() - pending.sent_at
        _free(pending)
        pending.event.set()

    def _socket(self, family: int) -> _stdsocket.socket:
        sock = self._sockets.get(family)
        if sock is None:
            sock = _stdsocket.socket(family, _stdsocket.SOCK_DGRAM)
            sock.setblocking(False)
            try:
                sock.setsockopt(_stdsocket.SOL_SOCKET, _stdsocket.SO_RCVBUF, RECV_BUFFER)
            except OSError:
                pass  # a smaller buffer only costs retries under bursts
            sock.bind(("::", 0) if family == _stdsocket.AF_INET6 else ("0.0.0.0", 0))
            self._sockets[family] = sock
            self._nursery.start_soon(receive_forever, sock, self._deliver)
        return sock

    async def _resolve(self, target: Target) -> tuple[int, SockAddr]:
        """(address family, socket address) of the target."""
        key = (target.host, target.port)
        now = trio.current_time()
        hit = self._resolved.get(key)
        if hit is not None and hit.expires > now:
            return hit.family, hit.address
        host = target.host[1:-1] if target.host.startswith("[") and target.host.endswith("]") else target.host
        try:
            infos = await trio.socket.getaddrinfo(host, target.port, type=_stdsocket.SOCK_DGRAM)
        except (_stdsocket.gaierror, UnicodeError) as exc:
            raise SnmpResolveError(f"{target.name}: cannot resolve host {host!r}: {getattr(exc, 'strerror', None) or exc}") from None
        if not infos:
            raise SnmpResolveError(f"{target.name}: host {host!r} has no address")
        family, _, _, _, sockaddr = infos[0]
        self._resolved[key] = _Resolved(now + RESOLVE_TTL, family, sockaddr)
        return family, sockaddr


def _free(pending: _Pending) -> None:
    for slots in pending.held:
        slots.release()
    pending.held = ()


def _check_increasing(target: Target, previous: Oid, oid: Oid) -> None:
    if oid <= previous:
        raise SnmpWalkError(
            f"{target.name}: agent returned OID {format_oid(oid)} after {format_oid(previous)} "
            "(not increasing: the agent loops)"
        )
