"""A small, deliberately misbehaving SNMP agent on Trio, for the client's fault tests.

It serves a fixed table of VarBinds (v1 Get/GetNext, v2c Get/GetNext/GetBulk) on
127.0.0.1 and, when the host has it, ::1, both at the same free UDP port:

    async with faulty_agent(table, Faults(drop_first=2)) as agent:
        target = Target("127.0.0.1", agent.port, timeout=0.2)
        ...
        assert agent.requests == 3

`table` is any iterable of VarBinds (sorted here). Each request is answered in its
own task, so a slow answer never holds up the next request. Requests with a
community other than `community` are dropped and counted in `agent.bad_community`,
as a real agent does.

Counters on the FaultyAgent (all cumulative):
    requests          datagrams that decoded as requests and carried the right community
    max_repetitions   the max-repetitions of every GetBulk, in arrival order
    log               one Request(index, pdu type, first OID, max-repetitions, outcome)
                      per request; outcome is "answer", "drop", "tooBig", "trim" or "garbage"
    too_big, trimmed, dropped, sent, bad_community, malformed
    gauge             requests received but not yet answered: .now and .peak; pass one
                      Gauge to several agents (gauge=...) to see their sum

It uses eyenet's own codec (checked against pyasn1 in the codec tests).
"""

import bisect
import errno
import socket as _stdsocket
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager

import attrs
import trio

from eyenet.snmp.errors import SnmpDecodeError
from eyenet.snmp.message import BulkPdu, ErrorStatus, Message, Pdu, PduType, Version, decode_message, encode_message
from eyenet.snmp.values import Tag, VarBind

GARBAGE = b"\x30\x82\xff\xff not SNMP at all"


@attrs.define
class Faults:
    """What to get wrong. Request numbers count from 1, in arrival order; the default is a well-behaved agent."""

    # Loss: ignore the first N requests, and every k-th request (k-th, 2k-th, ... counting all requests).
    drop_first: int = 0
    drop_every: int = 0
    # Send every answer twice.
    duplicate: bool = False
    # Send an answer with a wrong request-id (a far-away one) first, then the right one.
    wrong_id_first: bool = False
    # Send a copy of the answer from a second socket (another source port) first, then the real one;
    # with foreign_only, answer only from that second socket.
    foreign_copy: bool = False
    foreign_only: bool = False
    # Broken lexicographic order: once a GetNext/GetBulk step would return table entry number
    # `loop_after` (0-based) or later, return instead table[0] ("restart") or the OID asked for ("repeat").
    loop: str | None = attrs.field(default=None, validator=attrs.validators.in_({None, "restart", "repeat"}))
    loop_after: int = 0
    # tooBig for every GetBulk with max-repetitions above this; or for every request at all.
    too_big_above: int | None = None
    too_big_always: bool = False
    # At most this many varbinds in a GetBulk answer, silently (an agent with a small buffer).
    trim_to: int | None = None
    # The first N answers are cut to half their bytes (the request is then answered whole).
    truncate_first: int = 0
    # This many garbage datagrams precede every answer.
    garbage_before: int = 0
    # The first N requests get one garbage datagram instead of an answer.
    garbage_instead_first: int = 0
    # Seconds before answering: a number, or a function of the request number.
    delay: float | Callable[[int], float] = 0.0
    # The first N answers carry a wrong community (then the right one, for a retry).
    wrong_community_first: int = 0


@attrs.define
class Gauge:
    """How many requests are received and not yet answered (or dropped), now and at most."""

    now: int = 0
    peak: int = 0

    def up(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def down(self) -> None:
        self.now -= 1


@attrs.frozen
class Request:
    index: int
    type: PduType
    oid: tuple
    max_repetitions: int | None
    outcome: str


class FaultyAgent:
    def __init__(self, table: Iterable[VarBind], faults: Faults, community: bytes, gauge: Gauge):
        self.table = sorted(table)
        self._oids = [vb.oid for vb in self.table]
        self.faults = faults
        self.community = community
        self.gauge = gauge
        self.port = 0
        self.has_ipv6 = False
        self.requests = 0
        self.max_repetitions: list[int] = []
        self.log: list[Request] = []
        self.too_big = self.trimmed = self.dropped = self.sent = self.bad_community = self.malformed = 0
        self._sockets: dict[int, trio.socket.SocketType] = {}
        self._foreign: dict[int, trio.socket.SocketType] = {}
        self._truncated = 0
        self._wrong_community = 0

    # -- the table ----------------------------------------------------------

    def _next(self, oid: tuple) -> VarBind | None:
        """The entry after oid, with the configured loop fault; None past the end."""
        i = bisect.bisect_right(self._oids, oid)
        if i >= len(self.table):
            return None
        if self.faults.loop and i >= self.faults.loop_after:
            if self.faults.loop == "restart":
                return self.table[0]
            return VarBind(oid, self.table[i].tag, self.table[i].value)
        return self.table[i]

    def _get(self, oid: tuple, v1: bool) -> VarBind | None:
        i = bisect.bisect_left(self._oids, oid)
        if i < len(self.table) and self._oids[i] == oid:
            return self.table[i]
        if v1:
            return None
        # noSuchInstance when the object (the OID less its last arc) has instances here.
        parent = oid[:-1]
        j = bisect.bisect_left(self._oids, parent)
        has_object = j < len(self.table) and self._oids[j][: len(parent)] == parent
        return VarBind(oid, Tag.NO_SUCH_INSTANCE if has_object else Tag.NO_SUCH_OBJECT, None)

    def _answer_pdu(self, msg: Message) -> tuple[Pdu, str]:
        req = msg.pdu
        v1 = msg.version == Version.V1
        f = self.faults
        if f.too_big_always or (isinstance(req, BulkPdu) and f.too_big_above is not None and req.max_repetitions > f.too_big_above):
            self.too_big += 1
            return Pdu(PduType.RESPONSE, req.request_id, ErrorStatus.TOO_BIG, 0, req.varbinds), "tooBig"
        out: list[VarBind] = []
        if isinstance(req, BulkPdu):
            n = max(0, min(req.non_repeaters, len(req.varbinds)))
            for vb in req.varbinds[:n]:
                out.append(self._next(vb.oid) or VarBind(vb.oid, Tag.END_OF_MIB_VIEW, None))
            last = [vb.oid for vb in req.varbinds[n:]]
            ended = [False] * len(last)
            for _ in range(max(0, req.max_repetitions)):
                if all(ended):
                    break
                for k, oid in enumerate(last):
                    nxt = None if ended[k] else self._next(oid)
                    if nxt is None:
                        ended[k] = True
                        out.append(VarBind(oid, Tag.END_OF_MIB_VIEW, None))
                    else:
                        out.append(nxt)
                        last[k] = nxt.oid
            if f.trim_to is not None and len(out) > f.trim_to:
                self.trimmed += 1
                return Pdu(PduType.RESPONSE, req.request_id, 0, 0, tuple(out[: f.trim_to])), "trim"
            return Pdu(PduType.RESPONSE, req.request_id, 0, 0, tuple(out)), "answer"
        for index, vb in enumerate(req.varbinds, 1):
            found = self._next(vb.oid) if req.type == PduType.GET_NEXT else self._get(vb.oid, v1)
            if found is None:
                if v1:  # v1 has no exception values: the whole request fails with noSuchName
                    return Pdu(PduType.RESPONSE, req.request_id, ErrorStatus.NO_SUCH_NAME, index, req.varbinds), "answer"
                found = VarBind(vb.oid, Tag.END_OF_MIB_VIEW, None)
            out.append(found)
        return Pdu(PduType.RESPONSE, req.request_id, 0, 0, tuple(out)), "answer"

    # -- the wire -----------------------------------------------------------

    async def _serve(self, sock, nursery: trio.Nursery) -> None:
        while True:
            try:
                data, addr = await sock.recvfrom(65535)
            except OSError:
                continue
            try:
                msg = decode_message(data)
            except SnmpDecodeError:
                self.malformed += 1
                continue
            if not isinstance(msg, Message) or msg.pdu.type not in (PduType.GET, PduType.GET_NEXT, PduType.GET_BULK):
                self.malformed += 1
                continue
            if msg.community != self.community:
                self.bad_community += 1
                continue
            self.requests += 1
            self.gauge.up()
            nursery.start_soon(self._handle, sock, msg, addr, self.requests)

    async def _handle(self, sock, msg: Message, addr, number: int) -> None:
        answered = False

        def done() -> None:
            # Called just before the answer's sendto: trio makes the system call before it
            # yields, so the client cannot see the answer while the gauge still counts it.
            nonlocal answered
            if not answered:
                answered = True
                self.gauge.down()

        try:
            await self._respond(sock, msg, addr, number, done)
        finally:
            done()

    async def _respond(self, sock, msg: Message, addr, number: int, done: Callable[[], None]) -> None:
        f = self.faults
        req = msg.pdu
        max_rep = req.max_repetitions if isinstance(req, BulkPdu) else None
        if max_rep is not None:
            self.max_repetitions.append(max_rep)
        first = req.varbinds[0].oid if req.varbinds else ()

        def record(outcome: str) -> None:
            self.log.append(Request(number, req.type, first, max_rep, outcome))

        if number <= f.drop_first or (f.drop_every and number % f.drop_every == 0):
            self.dropped += 1
            record("drop")
            return
        delay = f.delay(number) if callable(f.delay) else f.delay
        if delay:
            await trio.sleep(delay)
        if number <= f.garbage_instead_first:
            record("garbage")
            await self._send(sock, GARBAGE, addr)
            return
        pdu, outcome = self._answer_pdu(msg)
        record(outcome)
        community = msg.community
        if self._wrong_community < f.wrong_community_first:
            self._wrong_community += 1
            community = b"not-" + community
        data = encode_message(Message(msg.version, community, pdu))
        for _ in range(f.garbage_before):
            await self._send(sock, GARBAGE, addr)
        if self._truncated < f.truncate_first:
            self._truncated += 1
            await self._send(sock, data[: len(data) // 2], addr)
            return
        if f.wrong_id_first:
            wrong = Pdu(pdu.type, pdu.request_id ^ 0x40000000, pdu.error_status, pdu.error_index, pdu.varbinds)
            await self._send(sock, encode_message(Message(msg.version, msg.community, wrong)), addr)
        if f.foreign_copy or f.foreign_only:
            await self._send(self._foreign[sock.family], data, addr)
            if f.foreign_only:
                return
        done()
        await self._send(sock, data, addr)
        if f.duplicate:
            await self._send(sock, data, addr)

    async def _send(self, sock, data: bytes, addr) -> None:
        self.sent += 1
        try:
            await sock.sendto(data, addr)
        except OSError:
            pass  # the client went away: nothing to answer

    async def _bind(self) -> None:
        """One free port on 127.0.0.1 and, if possible, the same port on ::1; foreign sockets beside them."""
        for _ in range(50):
            v4 = trio.socket.socket(_stdsocket.AF_INET, _stdsocket.SOCK_DGRAM)
            await v4.bind(("127.0.0.1", 0))
            port = v4.getsockname()[1]
            v6 = None
            if _stdsocket.has_ipv6:
                try:
                    v6 = trio.socket.socket(_stdsocket.AF_INET6, _stdsocket.SOCK_DGRAM)
                    await v6.bind(("::1", port))
                except OSError as exc:
                    if v6 is not None:
                        v6.close()
                    v6 = None
                    if exc.errno == errno.EADDRINUSE:
                        v4.close()
                        continue
            break
        else:
            raise RuntimeError("no free UDP port found on both 127.0.0.1 and ::1")
        self.port = port
        self._sockets[_stdsocket.AF_INET] = v4
        f4 = trio.socket.socket(_stdsocket.AF_INET, _stdsocket.SOCK_DGRAM)
        await f4.bind(("127.0.0.1", 0))
        self._foreign[_stdsocket.AF_INET] = f4
        if v6 is not None:
            self.has_ipv6 = True
            self._sockets[_stdsocket.AF_INET6] = v6
            f6 = trio.socket.socket(_stdsocket.AF_INET6, _stdsocket.SOCK_DGRAM)
            await f6.bind(("::1", 0))
            self._foreign[_stdsocket.AF_INET6] = f6

    def close(self) -> None:
        for sock in (*self._sockets.values(), *self._foreign.values()):
            sock.close()


@asynccontextmanager
async def faulty_agent(
    table: Iterable[VarBind], faults: Faults | None = None, *, community: bytes | str = b"public", gauge: Gauge | None = None
):
    """Run a FaultyAgent for the duration of the block; yields it (read .port and the counters).

    Its tasks live in a nursery of its own, cancelled when the block ends. An exception
    from the block comes out as itself, not wrapped in an ExceptionGroup.
    """
    if isinstance(community, str):
        community = community.encode()
    agent = FaultyAgent(table, faults or Faults(), community, gauge or Gauge())
    await agent._bind()
    error = None
    try:
        async with trio.open_nursery() as nursery:
            for sock in agent._sockets.values():
                nursery.start_soon(agent._serve, sock, nursery)
            try:
                yield agent
            except Exception as exc:
                error = exc
            finally:
                nursery.cancel_scope.cancel()
    finally:
        agent.close()
    if error is not None:
        raise error
