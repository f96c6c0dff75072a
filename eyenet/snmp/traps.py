"""Receiving notifications, pure: SNMPv1 Traps, SNMPv2c/v3 SNMPv2-Traps and Informs.

A NotificationReceiver takes one datagram at a time (time passed in) and says what came
(a Notification, in the SNMPv2 form: v1 Traps are translated as RFC 3584 3.1 says), what
to send back (an Inform's Response; for SNMPv3 Informs, where this receiver is the
authoritative engine, the Reports of discovery and of time), or why it was refused.
Informs already answered are answered again but not reported twice.
"""

from collections import OrderedDict
from collections.abc import Mapping

import attrs

from eyenet.snmp.errors import SnmpDecodeError
from eyenet.snmp.message import COMMUNITY_VERSIONS, Message, MessageV3, Pdu, PduType, ScopedPdu, TrapV1Pdu, decode_message, encode_message
from eyenet.snmp.usm import (
    FLAG_AUTH,
    FLAG_REPORTABLE,
    MAX_BOOTS,
    TIME_WINDOW,
    UsmRejected,
    UsmUser,
    decode_parameters,
    open_message,
    secure_message,
)
from eyenet.snmp.values import Oid, Tag, VarBind

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SNMP_TRAP_ADDRESS = (1, 3, 6, 1, 6, 3, 18, 1, 3, 0)
SNMP_TRAP_ENTERPRISE = (1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0)
_SNMP_TRAPS = (1, 3, 6, 1, 6, 3, 1, 1, 5)  # coldStart .1 ... egpNeighborLoss .6
_USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
# Informs remembered to tell a retransmission from a new one.
RECENT_INFORMS = 4096


@attrs.frozen
class Notification:
    """One trap or inform. varbinds leave out sysUpTime.0 and snmpTrapOID.0, given apart.
    security_name: the community (never in repr) or the SNMPv3 user."""

    source: tuple[str, int]
    version: str  # "1", "2c" or "3"
    inform: bool
    trap_oid: Oid
    uptime: int | None
    varbinds: tuple[VarBind, ...]
    security_name: str = attrs.field(repr=False)
    agent_addr: str | None = None  # SNMPv1: the agent-addr field
    engine_id: bytes = b""  # SNMPv3: the sender's (trap) or this receiver's (inform) engine id
    context: bytes = b""


@attrs.frozen
class Received:
    """What one datagram brought: at most one notification, a reply to send, or why it was refused."""

    notification: Notification | None = None
    reply: bytes | None = None
    refused: str | None = None


def from_v1(pdu: TrapV1Pdu) -> tuple[Oid, tuple[VarBind, ...]]:
    """A v1 Trap's snmpTrapOID and varbinds in the SNMPv2 form (RFC 3584 3.1.1)."""
    if pdu.generic_trap == 6:
        trap_oid = pdu.enterprise + (0, pdu.specific_trap)
    else:
        trap_oid = _SNMP_TRAPS + (pdu.generic_trap + 1,)
    extra = (VarBind(SNMP_TRAP_ADDRESS, Tag.IPADDRESS, pdu.agent_addr), VarBind(SNMP_TRAP_ENTERPRISE, Tag.OBJECT_IDENTIFIER, pdu.enterprise))
    return trap_oid, pdu.varbinds + extra


def split_v2(varbinds: tuple[VarBind, ...]) -> tuple[int | None, Oid | None, tuple[VarBind, ...]]:
    """(sysUpTime, snmpTrapOID, the rest) of an SNMPv2 notification (RFC 3416 4.2.6: first two)."""
    uptime = varbinds[0].value if varbinds and varbinds[0].oid == SYS_UPTIME and varbinds[0].tag == Tag.TIMETICKS else None
    rest = varbinds[1:] if uptime is not None else varbinds
    if rest and rest[0].oid == SNMP_TRAP_OID and rest[0].tag == Tag.OBJECT_IDENTIFIER:
        return uptime, rest[0].value, rest[1:]
    return uptime, None, rest


@attrs.define
class NotificationReceiver:
    """communities: those accepted from v1/v2c senders (None: any). users: SNMPv3 users by
    name; engine_id, boots and started (the time of `now` at boot): this receiver's engine."""

    engine_id: bytes
    communities: frozenset[str] | None = None
    users: Mapping[str, UsmUser] = attrs.Factory(dict)
    boots: int = 1
    started: float = 0.0
    _recent: OrderedDict[tuple[object, ...], bool] = attrs.field(factory=OrderedDict, init=False)
    _salt: int = attrs.field(default=0, init=False)

    def engine_time(self, now: float) -> int:
        return min(MAX_BOOTS, int(now - self.started))

    def receive(self, data: bytes, source: tuple[str, int], now: float) -> Received:
        try:
            msg = decode_message(data)
        except SnmpDecodeError as exc:
            return Received(refused=f"malformed: {exc}")
        if isinstance(msg, MessageV3):
            return self._v3(data, msg, source, now)
        community = msg.community.decode("utf-8", "replace")
        if self.communities is not None and community not in self.communities:
            return Received(refused="unknown community")  # never quoted: it may be a mistyped secret
        version = next(name for name, v in COMMUNITY_VERSIONS.items() if v == msg.version)
        pdu = msg.pdu
        if isinstance(pdu, TrapV1Pdu):
            v1_oid, v1_varbinds = from_v1(pdu)
            agent = ".".join(map(str, pdu.agent_addr))
            return Received(Notification(source, version, False, v1_oid, pdu.timestamp, v1_varbinds, community, agent_addr=agent))
        if not isinstance(pdu, Pdu) or pdu.type not in (PduType.TRAP_V2, PduType.INFORM):
            return Received(refused=f"not a notification (PDU type 0x{int(pdu.type):02x})")
        uptime, trap_oid, varbinds = split_v2(pdu.varbinds)
        if trap_oid is None:
            return Received(refused="no snmpTrapOID.0 as the first or second varbind")
        inform = pdu.type == PduType.INFORM
        reply = encode_message(Message(msg.version, msg.community, _response(pdu))) if inform else None
        if inform and self._seen((source, msg.version, community, pdu.request_id)):
            return Received(reply=reply)
        return Received(Notification(source, version, inform, trap_oid, uptime, varbinds, community), reply)

    def _v3(self, data: bytes, msg: MessageV3, source: tuple[str, int], now: float) -> Received:
        try:
            params, _ = decode_parameters(msg.security_parameters)
        except SnmpDecodeError as exc:
            return Received(refused=f"malformed: {exc}")
        name = params.user.decode("utf-8", "replace")
        # An Inform's sender discovers this engine first: a probe with no engine id (RFC 3414 4).
        if not params.engine_id and msg.flags & FLAG_REPORTABLE:
            return Received(reply=self._report(msg.msg_id, 4, None, now))
        user = self.users.get(name)
        if user is None:
            return Received(refused=f"unknown SNMPv3 user {name!r}")
        try:
            opened = open_message(data, msg, user)
        except UsmRejected as exc:
            return Received(refused=f"SNMPv3 user {name!r}: {exc}")
        if opened.flags & 3 != user.flags:
            return Received(refused=f"SNMPv3 user {name!r}: level {opened.flags & 3} where the user has {user.level}")
        pdu = opened.scoped.pdu
        if not isinstance(pdu, Pdu) or pdu.type not in (PduType.TRAP_V2, PduType.INFORM):
            return Received(refused=f"not a notification (PDU type 0x{int(pdu.type):02x})")
        inform = pdu.type == PduType.INFORM
        if inform:
            # This receiver is the authoritative engine of an Inform: its id and time rule.
            if params.engine_id != self.engine_id:
                return Received(reply=self._report(msg.msg_id, 4, None, now))
            if user.flags & FLAG_AUTH and (params.boots != self.boots or abs(params.time - self.engine_time(now)) > TIME_WINDOW):
                return Received(reply=self._report(msg.msg_id, 2, user, now))
        uptime, trap_oid, varbinds = split_v2(pdu.varbinds)
        if trap_oid is None:
            return Received(refused="no snmpTrapOID.0 as the first or second varbind")
        reply = None
        if inform:
            self._salt += 1
            scoped = ScopedPdu(opened.scoped.context_engine_id, opened.scoped.context_name, _response(pdu))
            reply = secure_message(msg.msg_id, scoped, user, self.engine_id, self.boots, self.engine_time(now), self._salt, False)
            if self._seen((source, 3, params.engine_id, name, msg.msg_id)):
                return Received(reply=reply)
        note = Notification(
            source, "3", inform, trap_oid, uptime, varbinds, name, engine_id=params.engine_id, context=opened.scoped.context_name
        )
        return Received(note, reply)

    def _report(self, msg_id: int, stat: int, user: UsmUser | None, now: float) -> bytes:
        """A Report of usmStats.<stat> (4: unknownEngineIDs, 2: notInTimeWindows), authenticated
        (authNoPriv) when a user is given, with this engine's id, boots and time."""
        pdu = Pdu(PduType.REPORT, msg_id, 0, 0, (VarBind(_USM_STATS + (stat, 0), Tag.COUNTER32, 1),))
        level = None if user is None else attrs.evolve(user, level="authNoPriv")
        scoped = ScopedPdu(self.engine_id, b"", pdu)
        return secure_message(msg_id, scoped, level, self.engine_id, self.boots, self.engine_time(now), 0, False)

    def _seen(self, key: tuple[object, ...]) -> bool:
        if key in self._recent:
            return True
        self._recent[key] = True
        if len(self._recent) > RECENT_INFORMS:
            self._recent.popitem(last=False)
        return False


def _response(pdu: Pdu) -> Pdu:
    return Pdu(PduType.RESPONSE, pdu.request_id, 0, 0, pdu.varbinds)

