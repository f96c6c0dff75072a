"""Notifications sent by net-snmp's snmptrap and snmpinform (v1, v2c, v3 authPriv) to
EyeNet's listener on loopback: what arrives, what is answered, what is refused."""

import socket
import subprocess

import agents
import pytest
import trio

from eyenet.snmp.listener import TrapListener
from eyenet.snmp.message import Message, Pdu, PduType, Version, decode_message, encode_message
from eyenet.snmp.traps import SNMP_TRAP_ADDRESS, SNMP_TRAP_OID, SYS_UPTIME, NotificationReceiver
from eyenet.snmp.usm import UsmUser
from eyenet.snmp.values import Tag, VarBind

ENGINE = bytes.fromhex("80001f8804657965")  # this receiver's
SENDER_ENGINE = "0x8000000001020304"
LINK_DOWN = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)
USERS = {
    "trapper": UsmUser("trapper", "authPriv", "SHA-256", "trap-auth-pass", "AES", "trap-priv-pass"),
    "informer": UsmUser("informer", "authPriv", "SHA", "inform-auth-pass", "AES-256-C", "inform-priv-pass"),
}


def receiver(**kwargs) -> NotificationReceiver:
    return NotificationReceiver(ENGINE, frozenset({"public"}), USERS, started=trio.current_time(), **kwargs)


async def netsnmp(tool: str, port: int, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = agents.netsnmp_env(tmp_path)
    return await trio.run_process(
        [tool, "-t", "2", "-r", "1", *args[:-1], f"udp:127.0.0.1:{port}", *("" if a == "''" else a for a in args[-1].split())],
        env=env, capture_stdout=True, capture_stderr=True, check=False,
    )


async def next_note(listener):
    with trio.fail_after(10):
        return await listener.notifications.receive()


async def test_v1_trap_in_the_snmpv2_form(tmp_path):
    async with TrapListener.open(receiver(), "127.0.0.1", 0) as listener:
        args = ("-v", "1", "-c", "public", "1.3.6.1.4.1.8072.2.3 192.0.2.7 6 17 4242 1.3.6.1.2.1.1.5.0 s hello")
        done = await netsnmp("snmptrap", listener.port, tmp_path, *args)
        assert done.returncode == 0, done.stderr
        note = await next_note(listener)
    assert note.version == "1" and not note.inform and note.source[0] == "127.0.0.1"
    assert note.trap_oid == (1, 3, 6, 1, 4, 1, 8072, 2, 3, 0, 17) and note.uptime == 4242 and note.agent_addr == "192.0.2.7"
    assert note.varbinds[0] == VarBind((1, 3, 6, 1, 2, 1, 1, 5, 0), Tag.OCTET_STRING, b"hello")
    assert VarBind(SNMP_TRAP_ADDRESS, Tag.IPADDRESS, bytes([192, 0, 2, 7])) in note.varbinds
    assert "public" not in repr(note)


async def test_v2c_trap_and_inform(tmp_path):
    async with TrapListener.open(receiver(), "127.0.0.1", 0) as listener:
        done = await netsnmp("snmptrap", listener.port, tmp_path, "-v", "2c", "-c", "public", "'' 1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.2 i 2")
        assert done.returncode == 0, done.stderr
        trap = await next_note(listener)
        # snmpinform exits 0 only once the Response came back.
        done = await netsnmp("snmpinform", listener.port, tmp_path, "-v", "2c", "-c", "public", "'' 1.3.6.1.6.3.1.1.5.4")
        assert done.returncode == 0, done.stderr
        inform = await next_note(listener)
        assert listener.stats.replies == 1
    assert trap.trap_oid == LINK_DOWN and trap.version == "2c" and trap.varbinds == (VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2), Tag.INTEGER, 2),)
    assert inform.inform and inform.trap_oid == (1, 3, 6, 1, 6, 3, 1, 1, 5, 4)


async def test_v3_authpriv_trap_and_inform(tmp_path):
    async with TrapListener.open(receiver(), "127.0.0.1", 0) as listener:
        trapper = ("-v", "3", "-e", SENDER_ENGINE, "-u", "trapper", "-l", "authPriv", "-a", "SHA-256", "-A", "trap-auth-pass",
                   "-x", "AES", "-X", "trap-priv-pass")
        done = await netsnmp("snmptrap", listener.port, tmp_path, *trapper, "'' 1.3.6.1.6.3.1.1.5.3")
        assert done.returncode == 0, done.stderr
        trap = await next_note(listener)
        # The Inform's sender discovers this receiver's engine id and time first.
        informer = ("-v", "3", "-u", "informer", "-l", "authPriv", "-a", "SHA", "-A", "inform-auth-pass",
                    "-x", "AES256C", "-X", "inform-priv-pass")
        done = await netsnmp("snmpinform", listener.port, tmp_path, *informer, "'' 1.3.6.1.6.3.1.1.5.1")
        assert done.returncode == 0, done.stderr
        inform = await next_note(listener)
    assert trap.version == "3" and trap.security_name == "trapper" and trap.engine_id == bytes.fromhex(SENDER_ENGINE[2:])
    assert trap.trap_oid == LINK_DOWN
    assert inform.inform and inform.engine_id == ENGINE and inform.trap_oid == (1, 3, 6, 1, 6, 3, 1, 1, 5, 1)


async def test_wrong_credentials_are_refused_and_counted(tmp_path):
    async with TrapListener.open(receiver(), "127.0.0.1", 0) as listener:
        await netsnmp("snmptrap", listener.port, tmp_path, "-v", "2c", "-c", "not-this-one", "'' 1.3.6.1.6.3.1.1.5.3")
        wrong = ("-v", "3", "-e", SENDER_ENGINE, "-u", "trapper", "-l", "authPriv", "-a", "SHA-256", "-A", "not-the-password",
                 "-x", "AES", "-X", "trap-priv-pass")
        await netsnmp("snmptrap", listener.port, tmp_path, *wrong, "'' 1.3.6.1.6.3.1.1.5.3")
        await netsnmp("snmptrap", listener.port, tmp_path, "-v", "3", "-e", SENDER_ENGINE, "-u", "nobody", "-l", "noAuthNoPriv",
                      "'' 1.3.6.1.6.3.1.1.5.3")
        with trio.fail_after(10):
            while listener.stats.refused < 3:
                await trio.sleep(0.05)
        assert listener.stats.notifications == 0


async def test_a_repeated_inform_is_answered_twice_and_reported_once():
    async with TrapListener.open(receiver(), "127.0.0.1", 0) as listener:
        pdu = Pdu(PduType.INFORM, 77, 0, 0, (VarBind(SYS_UPTIME, Tag.TIMETICKS, 5), VarBind(SNMP_TRAP_OID, Tag.OBJECT_IDENTIFIER, LINK_DOWN)))
        data = encode_message(Message(Version.V2C, b"public", pdu))
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with sock:
            await sock.bind(("127.0.0.1", 0))
            answers = []
            for _ in range(2):
                await sock.sendto(data, ("127.0.0.1", listener.port))
                with trio.fail_after(5):
                    answers.append(decode_message((await sock.recvfrom(65535))[0]))
        assert [a.pdu.type for a in answers] == [PduType.RESPONSE, PduType.RESPONSE]
        assert answers[0].pdu.request_id == 77 and answers[0].pdu.varbinds == pdu.varbinds
        assert (await next_note(listener)).inform
        assert listener.stats.notifications == 1 and listener.stats.replies == 2


@pytest.mark.parametrize("queue", [5])
async def test_a_flood_beyond_the_queue_is_dropped_and_counted(queue):
    async with TrapListener.open(receiver(), "127.0.0.1", 0, queue=queue) as listener:
        pdu = Pdu(PduType.TRAP_V2, 1, 0, 0, (VarBind(SYS_UPTIME, Tag.TIMETICKS, 5), VarBind(SNMP_TRAP_OID, Tag.OBJECT_IDENTIFIER, LINK_DOWN)))
        data = encode_message(Message(Version.V2C, b"public", pdu))
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with sock:
            for _ in range(20):
                await sock.sendto(data, ("127.0.0.1", listener.port))
        with trio.fail_after(10):
            while listener.stats.datagrams < 20:
                await trio.sleep(0.02)
        assert listener.stats.notifications == queue and listener.stats.dropped == 20 - queue


def test_an_inform_out_of_time_gets_an_authenticated_report_with_this_engines_time():
    from eyenet.snmp.message import MessageV3, ScopedPdu
    from eyenet.snmp.usm import decode_parameters, open_message, secure_message

    user = USERS["informer"]
    got = NotificationReceiver(ENGINE, None, USERS, boots=3, started=100.0)
    pdu = Pdu(PduType.INFORM, 9, 0, 0, (VarBind(SYS_UPTIME, Tag.TIMETICKS, 5), VarBind(SNMP_TRAP_OID, Tag.OBJECT_IDENTIFIER, LINK_DOWN)))
    late = secure_message(9, ScopedPdu(ENGINE, b"", pdu), user, ENGINE, 3, 5000, 1)
    answer = got.receive(late, ("127.0.0.1", 5000), now=160.0)
    assert answer.notification is None and answer.reply is not None
    report = decode_message(answer.reply)
    assert isinstance(report, MessageV3)
    opened = open_message(answer.reply, report, user)
    assert opened.authenticated and opened.parameters.boots == 3 and opened.parameters.time == 60
    assert opened.scoped.pdu.varbinds[0].oid == (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0)
    in_time = secure_message(10, ScopedPdu(ENGINE, b"", pdu), user, ENGINE, 3, 61, 2)
    answer = got.receive(in_time, ("127.0.0.1", 5000), now=160.0)
    assert answer.notification is not None and answer.notification.inform
    assert decode_parameters(decode_message(answer.reply).security_parameters)[0].engine_id == ENGINE


def test_senders_are_matched_by_address_or_v1_agent_addr_and_unknown_ones_counted():
    from eyenet.collect.traps import TrapService
    from eyenet.config import TrapsSettings
    from eyenet.devices.model import DeviceConfig
    from eyenet.snmp.traps import Notification

    devices = [DeviceConfig("a", "192.0.2.1"), DeviceConfig("b", "2001:db8::0:1")]
    polled = []
    published, kept = [], []
    service = TrapService(TrapsSettings(enabled=True), lambda: devices, lambda d: polled.append(d) or True, published.append, kept.extend)

    def note(source, trap_oid=LINK_DOWN, agent_addr=None):
        return Notification((source, 162), "1", False, trap_oid, 0, (), "public", agent_addr=agent_addr)

    service.handle(note("2001:db8::1"), 10.0)
    service.handle(note("198.51.100.9", agent_addr="192.0.2.1"), 10.0)  # through a v1 relay
    service.handle(note("198.51.100.9"), 10.0)
    service.handle(note("192.0.2.1", trap_oid=(1, 3, 6, 1, 4, 1, 9, 0, 1)), 10.0)
    assert polled == ["b", "a"] and service.unknown == 1 and service.polls_brought_forward == 2
    (event,) = published
    assert kept == published and (event.device_id, event.trap_oid, event.version) == ("a", "1.3.6.1.4.1.9.0.1", "1")


def test_a_trap_flood_is_published_and_stored_within_the_budget():
    from eyenet.collect.traps import TrapService
    from eyenet.config import TrapsSettings
    from eyenet.devices.model import DeviceConfig
    from eyenet.snmp.traps import Notification

    devices = [DeviceConfig(name, f"192.0.2.{i}") for i, name in enumerate("abc", 1)]
    published, kept, polled = [], [], []
    settings = TrapsSettings(enabled=True, device_rate=10, total_rate=25)
    lone = TrapService(settings, lambda: devices[:1], lambda d: True, published.append, kept.extend)
    for i in range(100):
        lone.handle(Notification(("192.0.2.1", 162), "2c", False, (1, 3, 6, 1, 4, 1, 9, 0, 1), 0, (), "public"), 50 + i / 100)
    assert len(published) == 10 and lone.over_budget == 90  # one device alone: its own rate
    published.clear()
    kept.clear()
    service = TrapService(settings, lambda: devices, lambda d: polled.append(d) or True, published.append, kept.extend)
    enterprise = (1, 3, 6, 1, 4, 1, 9, 0, 1)
    for second in (100, 101):
        for i in range(1000):
            for host in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
                service.handle(Notification((host, 162), "2c", False, enterprise, 0, (), "public"), second + i / 1000)
    # Each second, sent in turns: 9 of a, 8 of b and of c (the total reached), the rest counted.
    per_device = {d: sum(e.device_id == d for e in published) for d in "abc"}
    assert per_device == {"a": 18, "b": 16, "c": 16} and kept == published
    assert service.over_budget == 6000 - 50
    # A linkDown is never held back by the budget: it only brings a poll forward.
    service.handle(Notification(("192.0.2.1", 162), "2c", False, LINK_DOWN, 0, (), "public"), 101.5)
    assert polled == ["a"]
