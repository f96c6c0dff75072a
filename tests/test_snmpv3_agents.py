"""SNMPv3 through EyeNet's client against net-snmp's snmpd: every auth/priv pair Debian's
net-snmp has (the "C" AES variants too), each Report as its own error, and an agent restart
(one more boot) between two requests of the same client."""

import itertools
import json
import os
import re
import subprocess
import sys

import agents
import pytest
import trio
from netsnmp_output import parse_netsnmp_output

from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.errors import (
    SnmpTimeout,
    SnmpUnknownUser,
    SnmpUnsupportedSecurityLevel,
    SnmpWrongDigest,
)
from eyenet.snmp.usm import AUTH_PROTOCOLS, PRIV_PROTOCOLS, UsmUser
from eyenet.snmp.values import TAG_NAMES, parse_oid

AUTH_PASS = "auth-pass-123"
PRIV_PASS = "priv-pass-456"
SYSTEM = "1.3.6.1.2.1.1"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
# snmpd.conf spells the "C" variants without the second dash, and SHA-2 without a dash as well.
CONF_NAMES = {"AES-192-C": "AES192C", "AES-256-C": "AES256C"}


def user_name(auth: str | None, priv: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", f"u{auth or 'none'}{priv or 'none'}")


COMBINATIONS = [(a, p) for a, p in itertools.product(AUTH_PROTOCOLS, PRIV_PROTOCOLS)]
AUTH_ONLY = [(a, None) for a in AUTH_PROTOCOLS]
ALL_USERS = [(None, None), *AUTH_ONLY, *COMBINATIONS]


def _conf() -> str:
    lines = []
    for auth, priv in ALL_USERS:
        name = user_name(auth, priv)
        if auth is None:
            lines += [f"createUser {name}", f"rouser {name} noauth -V stable"]
        elif priv is None:
            lines += [f"createUser {name} {auth} {AUTH_PASS}", f"rouser {name} auth -V stable"]
        else:
            lines += [f"createUser {name} {auth} {AUTH_PASS} {CONF_NAMES.get(priv, priv)} {PRIV_PASS}", f"rouser {name} priv -V stable"]
    # A context the agent does not have is refused with a Report; one that only this user may read.
    lines += ["createUser ctxuser SHA-256 auth-pass-123 AES priv-pass-456", "rouser ctxuser priv -V stable"]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def v3_snmpd(tmp_path_factory):
    agent = agents.start_snmpd(tmp_path_factory.mktemp("snmpd-v3"), extra_conf=_conf())
    try:
        yield agent
    finally:
        agent.stop()


def usm_user(auth: str | None, priv: str | None) -> UsmUser:
    level = "noAuthNoPriv" if auth is None else "authNoPriv" if priv is None else "authPriv"
    return UsmUser(user_name(auth, priv), level, auth or "SHA", AUTH_PASS if auth else "", priv or "AES", PRIV_PASS if priv else "")


def target(agent, user: UsmUser, **kwargs) -> Target:
    return Target(agent.host, agent.port, version="3", usm=user, timeout=1.0, retries=1, **kwargs)


def netsnmp_v3_args(user: UsmUser) -> tuple[str, ...]:
    args = ["-l", user.level, "-u", user.name]
    if user.level != "noAuthNoPriv":
        args += ["-a", user.auth_protocol, "-A", user.auth_password]
    if user.level == "authPriv":
        args += ["-x", CONF_NAMES.get(user.priv_protocol, user.priv_protocol), "-X", user.priv_password]
    return tuple(args)


def plain(varbinds):
    return [(vb.oid, TAG_NAMES[vb.tag], vb.value) for vb in varbinds]


def netsnmp_bulkwalk(agent, user: UsmUser, oid: str):
    out = agents.run_netsnmp("snmpbulkwalk", agent, "-Cr25", oid, version="3", v3_args=netsnmp_v3_args(user), timeout=5)
    return [vb for vb in parse_netsnmp_output(out.stdout) if vb[1] != "endOfMibView"]


@pytest.mark.slow
async def test_every_combination_walks_as_snmpbulkwalk(v3_snmpd):
    expected = netsnmp_bulkwalk(v3_snmpd, usm_user("SHA", "AES"), SYSTEM)
    assert len(expected) > 10
    async with SnmpClient.open() as client:
        for auth, priv in ALL_USERS:
            user = usm_user(auth, priv)
            ours = await client.walk(target(v3_snmpd, user), parse_oid(SYSTEM))
            assert plain(ours) == expected, f"{user}: walk differs from snmpbulkwalk's"
            got = await client.get(target(v3_snmpd, user), [parse_oid(SYS_NAME)])
            assert got[0].value == b"eyenet-test-snmpd", user
    # One discovery per agent, whatever the users.
    assert len(client._engines) == 1


async def test_a_whole_tree_walk_at_authpriv_equals_snmpbulkwalk(v3_snmpd):
    user = usm_user("SHA-256", "AES-256-C")
    before = netsnmp_bulkwalk(v3_snmpd, user, ".1")
    async with SnmpClient.open() as client:
        ours = plain(await client.walk(target(v3_snmpd, user), (1,)))
    assert len(ours) > 1000
    assert ours == before


async def test_get_equals_snmpget(v3_snmpd):
    user = usm_user("SHA-512", "AES-192")
    theirs = agents.run_netsnmp("snmpget", v3_snmpd, SYS_NAME, version="3", v3_args=netsnmp_v3_args(user))
    async with SnmpClient.open() as client:
        ours = await client.get(target(v3_snmpd, user), [parse_oid(SYS_NAME)])
    assert plain(ours) == parse_netsnmp_output(theirs.stdout)


# -- Reports ---------------------------------------------------------------------------------


async def _error_of(agent, user: UsmUser, **kwargs) -> Exception:
    async with SnmpClient.open() as client:
        with pytest.raises(Exception) as caught:
            await client.get(target(agent, user, **kwargs), [parse_oid(SYS_NAME)])
    return caught.value


def _no_secret(text: str) -> None:
    for secret in (AUTH_PASS, PRIV_PASS, "wrong-pass-789"):
        assert secret not in text


async def test_unknown_user(v3_snmpd):
    user = UsmUser("ghost", "authPriv", "SHA", AUTH_PASS, "AES", PRIV_PASS)
    exc = await _error_of(v3_snmpd, user)
    assert isinstance(exc, SnmpUnknownUser)
    assert str(exc) == (
        f"127.0.0.1:{v3_snmpd.port}: user 'ghost' (authPriv): the agent has no such user (usmStatsUnknownUserNames)"
    )


async def test_wrong_digest(v3_snmpd):
    user = UsmUser(user_name("SHA-256", "AES"), "authPriv", "SHA-256", "wrong-pass-789", "AES", PRIV_PASS)
    exc = await _error_of(v3_snmpd, user)
    assert isinstance(exc, SnmpWrongDigest)
    assert "user 'uSHA256AES' (authPriv): wrong digest: the authentication password or protocol (SHA-256)" in str(exc)
    _no_secret(str(exc))
    # Another protocol with the right password is a wrong digest too.
    exc = await _error_of(v3_snmpd, UsmUser(user_name("SHA-256", "AES"), "authNoPriv", "SHA-384", AUTH_PASS))
    assert isinstance(exc, SnmpWrongDigest)


async def test_unsupported_security_level(v3_snmpd):
    # A user created without privacy, asked for authPriv.
    user = UsmUser(user_name("MD5", None), "authPriv", "MD5", AUTH_PASS, "DES", PRIV_PASS)
    exc = await _error_of(v3_snmpd, user)
    assert isinstance(exc, SnmpUnsupportedSecurityLevel)
    assert "user 'uMD5none' (authPriv): the agent does not support this security level" in str(exc)


async def test_wrong_privacy_password_times_out_with_a_hint(v3_snmpd):
    # net-snmp drops what it cannot decrypt without a Report: the timeout says what may be wrong.
    user = UsmUser(user_name("SHA", "AES"), "authPriv", "SHA", AUTH_PASS, "AES", "wrong-pass-789")
    exc = await _error_of(v3_snmpd, user)
    assert isinstance(exc, SnmpTimeout)
    assert "SNMPv3 user 'uSHAAES' (authPriv): a wrong privacy password or protocol also goes unanswered" in str(exc)
    _no_secret(str(exc))


# -- engine time ------------------------------------------------------------------------------


@pytest.mark.slow
async def test_restart_between_requests_resyncs_without_losing_the_request(tmp_path):
    agent = agents.start_snmpd(tmp_path, extra_conf=_conf())
    try:
        user = usm_user("SHA-256", "AES")
        async with SnmpClient.open() as client:
            t = target(agent, user)
            await client.get(t, [parse_oid(SYS_NAME)])
            (engine,) = client._engines.values()
            boots, engine_id = engine.boots, engine.id
            await trio.to_thread.run_sync(agent.restart)
            sent = client.stats.sent
            got = await client.get(t, [parse_oid(SYS_NAME)])
            assert got[0].value == b"eyenet-test-snmpd"
            (engine,) = client._engines.values()
            assert engine.id == engine_id and engine.boots == boots + 1
            # The request, a notInTimeWindow Report, the request again: no new discovery.
            assert client.stats.sent - sent == 2
            # A walk after the restart works at the new boots.
            assert len(await client.walk(t, parse_oid(SYSTEM))) > 5
    finally:
        agent.stop()


# -- the command line -------------------------------------------------------------------------

EYENET = [sys.executable, "-m", "eyenet.cli"]


def eyenet(*args, env=None):
    return subprocess.run([*EYENET, *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize(
    "auth,priv,spelt",
    [("MD5", "DES", "DES"), ("SHA-512", "AES-256-C", "AES256C"), ("SHA-224", "AES-192", "AES192"), (None, None, None)],
)
def test_cli_walk_with_net_snmps_options(v3_snmpd, auth, priv, spelt):
    user = usm_user(auth, priv)
    args = ["-v", "3", "-u", user.name, "-l", user.level]
    if auth:
        args += ["-a", auth, "-A", AUTH_PASS]
    if priv:
        args += ["-x", spelt, "-X", PRIV_PASS]
    result = eyenet("walk", *args, f"{v3_snmpd.host}:{v3_snmpd.port}", SYSTEM)
    assert result.returncode == 0, result.stderr
    expected = netsnmp_bulkwalk(v3_snmpd, user, SYSTEM)
    assert [line.split(" = ")[0] for line in result.stdout.splitlines()] == ["." + ".".join(map(str, o)) for o, _, _ in expected]


def test_cli_get_json_with_passwords_from_the_environment(v3_snmpd):
    user = usm_user("SHA-256", "AES-256")
    env = {**os.environ, "EYENET_SNMP_AUTH_PASSWORD": AUTH_PASS, "EYENET_SNMP_PRIV_PASSWORD": PRIV_PASS}
    result = eyenet(
        "get", "--json", "-v", "3", "-u", user.name, "-a", "SHA-256", "-x", "AES-256", f"{v3_snmpd.host}:{v3_snmpd.port}", SYS_NAME,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["value"]["text"] == "eyenet-test-snmpd"


def test_cli_errors_are_one_line_without_secrets(v3_snmpd):
    result = eyenet("get", "-v", "3", "-u", "ghost", "-A", AUTH_PASS, f"{v3_snmpd.host}:{v3_snmpd.port}", SYS_NAME)
    assert result.returncode == 1
    assert result.stderr == (
        f"eyenet: 127.0.0.1:{v3_snmpd.port}: user 'ghost' (authNoPriv): the agent has no such user (usmStatsUnknownUserNames)\n"
    )
    result = eyenet("get", "-v", "3", "-u", "ops", "-l", "authPriv", "-A", "short", f"{v3_snmpd.host}:{v3_snmpd.port}", SYS_NAME)
    assert result.returncode == 1 and "short" not in result.stderr
    assert "auth_password: is needed for authPriv, of 8 characters at least" in result.stderr
