"""The Reports net-snmp's snmpd does not send on demand (it drops undecryptable requests and
unknown contexts, and never keeps refusing an engine id or a resynchronised time), from a
scripted v3 agent on loopback built on EyeNet's own USM core; and answers that fail
authentication are dropped, never taken."""

import socket as _stdsocket
from contextlib import asynccontextmanager

import attrs
import pytest
import trio

from eyenet.snmp import client as client_module
from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.errors import (
    SnmpDecryptionError,
    SnmpNotInTimeWindow,
    SnmpTimeout,
    SnmpUnknownContext,
    SnmpUnknownEngineId,
    SnmpUsmError,
)
from eyenet.snmp.message import MessageV3, Pdu, PduType, ScopedPdu, decode_message
from eyenet.snmp.usm import UsmUser, decode_parameters, open_message, secure_message
from eyenet.snmp.values import Tag, VarBind

ENGINE = bytes.fromhex("80001f8880aabbccdd")
USER = UsmUser("ops", "authPriv", "SHA-256", "auth-pass-123", "AES", "priv-pass-456")
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)


@attrs.define
class Script:
    """report: the counter OID (without .0) every request gets; authenticated: sent at authNoPriv."""

    report: tuple[int, ...] | None
    authenticated: bool = False
    forge: bool = False  # answer with a response whose digest is wrong
    requests: int = 0
    boots: int = 1


def _report(msg_id: int, oid, engine: bytes, boots: int, user: UsmUser | None, context_name: bytes = b"") -> bytes:
    pdu = Pdu(PduType.REPORT, msg_id, 0, 0, (VarBind(oid + (0,), Tag.COUNTER32, 1),))
    return secure_message(msg_id, ScopedPdu(engine, context_name, pdu), user, engine, boots, 100, 1, reportable=False)


@asynccontextmanager
async def scripted_agent(script: Script):
    sock = trio.socket.socket(_stdsocket.AF_INET, _stdsocket.SOCK_DGRAM)
    await sock.bind(("127.0.0.1", 0))

    async def serve() -> None:
        while True:
            data, addr = await sock.recvfrom(65535)
            msg = decode_message(data)
            assert isinstance(msg, MessageV3)
            params, _ = decode_parameters(msg.security_parameters)
            if not params.user:  # discovery
                await sock.sendto(_report(msg.msg_id, client_module.UNKNOWN_ENGINE_IDS, ENGINE, script.boots, None), addr)
                continue
            script.requests += 1
            opened = open_message(data, msg, USER)
            if script.forge:
                pdu = Pdu(PduType.RESPONSE, msg.msg_id, 0, 0, (VarBind(SYS_NAME, Tag.OCTET_STRING, b"forged"),))
                liar = attrs.evolve(USER, auth_password="another-password")
                await sock.sendto(secure_message(msg.msg_id, ScopedPdu(ENGINE, b"", pdu), liar, ENGINE, 1, 100, 1, False), addr)
                continue
            assert script.report is not None
            user = attrs.evolve(USER, level="authNoPriv") if script.authenticated else None
            await sock.sendto(_report(msg.msg_id, script.report, ENGINE, script.boots, user, opened.scoped.context_name), addr)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        yield sock.getsockname()[1]
        nursery.cancel_scope.cancel()
    sock.close()


async def _error(script: Script, **kwargs) -> Exception:
    async with scripted_agent(script) as port:
        async with SnmpClient.open() as client:
            target = Target("127.0.0.1", port, version="3", usm=USER, timeout=0.3, retries=0, **kwargs)
            with pytest.raises(SnmpUsmError) as caught:
                await client.get(target, [SYS_NAME])
    return caught.value


async def test_not_in_time_window_after_resync():
    script = Script(client_module.NOT_IN_TIME_WINDOWS, authenticated=True, boots=7)
    exc = await _error(script)
    assert isinstance(exc, SnmpNotInTimeWindow)
    assert str(exc).endswith(
        "user 'ops' (authPriv): the request is still not in the agent's time window after resynchronising (usmStatsNotInTimeWindows)"
    )
    assert script.requests == 2  # tried again once, at the agent's time


async def test_an_unauthenticated_not_in_time_window_does_not_move_the_clock():
    script = Script(client_module.NOT_IN_TIME_WINDOWS, authenticated=False)
    assert isinstance(await _error(script), SnmpNotInTimeWindow)
    assert script.requests == 1


async def test_unknown_engine_id_after_rediscovery():
    script = Script(client_module.UNKNOWN_ENGINE_IDS)
    exc = await _error(script)
    assert isinstance(exc, SnmpUnknownEngineId)
    assert "user 'ops' (authPriv): the agent still reports an unknown engine id after rediscovery" in str(exc)
    assert script.requests == 2


async def test_decryption_error():
    exc = await _error(Script(client_module.DECRYPTION_ERRORS))
    assert isinstance(exc, SnmpDecryptionError)
    assert "user 'ops' (authPriv): the agent could not decrypt the request: the privacy protocol (AES)" in str(exc)
    assert "priv-pass" not in str(exc) and "auth-pass" not in str(exc)


async def test_unknown_context():
    exc = await _error(Script(client_module.UNKNOWN_CONTEXTS), context="vlan-12")
    assert isinstance(exc, SnmpUnknownContext)
    assert "does not serve context 'vlan-12' (snmpUnknownContexts)" in str(exc)


async def test_a_forged_response_is_dropped_and_counted():
    script = Script(None, forge=True)
    async with scripted_agent(script) as port:
        async with SnmpClient.open() as client:
            target = Target("127.0.0.1", port, version="3", usm=USER, timeout=0.3, retries=1)
            with pytest.raises(SnmpTimeout):
                await client.get(target, [SYS_NAME])
            assert client.stats.malformed == 2 and client.stats.responses == 1  # the discovery Report only
