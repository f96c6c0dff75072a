"""The REST API against a real server: the web front on a free port, a SQLite store,
a real TokenAuthority, and a real poller reading snmpsim, spoken to with http.client.

Every reply is checked on the way in: an error is always {"error": {"code", "message"}}
with the status of its code, and no body ever carries an SNMP community."""

from __future__ import annotations

import http.client
import json
import random
import re
import time
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import attrs
import pytest
import trio

from eyenet.alerts.engine import Alert, Change, Window
from eyenet.alerts.service import AlertService
from eyenet.anomaly.model import MlJob
from eyenet.anomaly.service import MlService
from eyenet.auth import initial
from eyenet.auth.model import User, role_allows
from eyenet.auth.passwords import hash_password
from eyenet.auth.tokens import TokenAuthority
from eyenet.bus import Bus
from eyenet.collect.history import HistoryPoint, Sample
from eyenet.collect.poller import Poller
from eyenet.collect.profiles import load_profiles
from eyenet.config import AuthSettings, Config, SnmpSettings, WebSettings
from eyenet.devices.inventory import Inventory
from eyenet.devices.model import DeviceConfig, StoredDevice
from eyenet.health import Health, Status
from eyenet.snmp.client import SnmpClient
from eyenet.store.db import Store
from eyenet.topology.service import TopologyService
from eyenet.web.front import serve
from eyenet.web.http import Request
from eyenet.web.rest.api import RestApi
from eyenet.web.rest.devices import merge
from eyenet.web.rest.openapi import ERRORS

PASSWORD = "correct horse battery"
# username -> (role, scope)
USERS = {
    "admin": ("admin", ()),
    "operator": ("operator", ()),
    "viewer": ("viewer", ()),
    "edge-viewer": ("viewer", ("edge",)),
    "edge-admin": ("admin", ("edge",)),
    "core-viewer": ("viewer", ("core",)),
    "core-operator": ("operator", ("core",)),
    "edge-operator": ("operator", ("edge",)),
}
DEVICE_KEYS = {
    "id", "name", "host", "type", "vendor", "model", "os", "osVersion", "serial", "sysName", "sysDescr", "sysObjectId", "location", "contact",
    "metricsStatus", "tags", "status", "reason", "lastSeen", "metrics", "port", "version", "pollInterval", "source",
    "snmpv3",
}
API_SECRET = "api-s3cret-community"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@pytest.fixture(scope="session")
def password_hash():
    return hash_password(PASSWORD)  # once: scrypt costs ~0.1 s a user


@attrs.frozen
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def code(self) -> str:
        return self.json["error"]["code"]


@attrs.define
class Api:
    port: int
    store: Store
    inventory: Inventory
    authority: TokenAuthority
    rest: RestApi
    users: dict[str, User]
    secrets: tuple[str, ...]
    tokens: dict[str, str] = attrs.Factory(dict)

    def token(self, username: str) -> str:
        if username not in self.tokens:
            self.tokens[username] = self.authority.issue(self.users[username]).token
        return self.tokens[username]

    def call(self, method, path, body=None, *, user=None, token=None, content_type="application/json", headers=()) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        sent = dict(headers)
        if user is not None:
            token = self.token(user)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None:
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            if content_type is not None:
                sent["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            conn.close()
        for secret in self.secrets:
            assert secret.encode() not in reply.body, f"{method} {path} returned an SNMP community"
        if reply.status >= 400 and path != "/api/health":  # a 503 there carries the health report itself
            error = reply.json["error"]
            assert set(error) == {"code", "message"} and error["message"], reply.body
            assert ERRORS[error["code"]][0] == reply.status, reply.body
        return reply

    async def __call__(self, method, path, body=None, **kw) -> Reply:
        return await trio.to_thread.run_sync(lambda: self.call(method, path, body, **kw))


@asynccontextmanager
async def serving(tmp_path, agent, password_hash, settings: WebSettings = WebSettings()):
    """The whole API on a free port: two configured devices polled from snmpsim (agent),
    one added through the API at an earlier run that answers nothing, and USERS."""
    host, port = agent.address
    configured = (
        DeviceConfig("core-1", host, port, community="ios_2960x", poll_interval=2, tags=("core",)),
        DeviceConfig("edge-1", host, port, community="junos_qfx5100", poll_interval=2, tags=("edge",)),
    )
    config = Config(path=str(tmp_path / "eyenet.toml"), snmp=SnmpSettings(timeout=2, retries=1), devices=configured)
    authority = TokenAuthority.from_settings(AuthSettings(secret_file=str(tmp_path / "jwt.secret")))
    async with Store.open(tmp_path / "eyenet.db") as store, SnmpClient.open() as client:
        for device in configured:
            await store.upsert_device(StoredDevice(device, source="config"))
        await store.upsert_device(StoredDevice(DeviceConfig("api-1", "127.0.0.1", 9, community=API_SECRET, tags=("edge",))))
        # An alert on the device that answers nothing (device-down holds), and a maintenance window.
        seeded = Alert(
            "al-seeded", "device-down", "api-1", None, "device.status", "critical", "Device is down", "open", None, None,
            created_at=datetime.now(timezone.utc), updated_at=datetime.now(timezone.utc),
        )
        await store.record_alert_changes([Change("new", seeded, None, seeded.created_at, True)])
        await store.put_ml_job(MlJob("job-seeded", "core-1", "cpu", 1_700_000_000, 1_700_003_600, 25_200, "completed",
                                     (("normal", 0.9),), created_at=1_700_003_600.0, updated_at=1_700_003_601.0))
        await store.put_window(Window("mw-seeded", datetime(2030, 1, 1, tzinfo=timezone.utc), datetime(2030, 1, 2, tzinfo=timezone.utc), tags=("lab",)))
        users = {}
        for n, (name, (role, scope)) in enumerate(USERS.items()):
            users[name] = User(f"u-{n:016x}", name, role, scope, password_hash, 1_700_000_000 + n)
            await store.add_user(users[name])
        bus = Bus()
        poller = Poller(client, bus, store.add_samples, load_profiles(), config)
        inventory = Inventory(store, bus, poller)
        await inventory.load()
        alerts = AlertService(store, bus, inventory.device_tags)
        await alerts.load()
        topology = TopologyService(client, inventory, poller.target, store, bus)
        ml = MlService(store, bus)
        health = {"store": store, "poller": poller, "bus": bus, "alerts": alerts, "topology": topology, "ml": ml}
        rest = RestApi(
            inventory, store, alerts, topology, ml, authority, settings=settings,
            health_fn=lambda: {name: part.health() for name, part in health.items()},
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(inventory.run)
            await nursery.start(alerts.run)
            await nursery.start(topology.run)
            await nursery.start(ml.run)
            await nursery.start(poller.run, inventory.configs())
            [(_, bound)] = await nursery.start(serve, rest, WebSettings(host="127.0.0.1", port=0))
            yield Api(bound, store, inventory, authority, rest, users, (API_SECRET, "ios_2960x", "junos_qfx5100"))
            nursery.cancel_scope.cancel()


@pytest.fixture
async def api(tmp_path, snmpsim_agent, password_hash):
    async with serving(tmp_path, snmpsim_agent, password_hash) as api:
        yield api


async def wait_for_poll(api: Api, device_id: str) -> dict:
    with trio.fail_after(30):
        while True:
            device = (await api("GET", f"/api/devices/{device_id}", user="viewer")).json
            if device["status"] is not None and device["metrics"]["cpu"] is not None:
                return device
            await trio.sleep(0.2)


# -- auth -------------------------------------------------------------------------------------------


async def test_login_gives_a_token_the_server_accepts(api):
    reply = await api("POST", "/api/auth/login", {"username": "Operator", "password": PASSWORD})
    assert reply.status == 200 and reply.headers["cache-control"] == "no-store"
    body = reply.json
    assert set(body) == {"token", "expiresAt", "role", "eventKey"} and body["role"] == "operator"
    claims = api.authority.verify(body["token"])
    assert claims.user_id == api.users["operator"].id
    assert body["eventKey"] == api.authority.event_key_b64(claims)
    assert RFC3339.match(body["expiresAt"])
    expires = datetime.fromisoformat(body["expiresAt"])
    assert abs((expires - datetime.now(timezone.utc)) - timedelta(seconds=3600)) < timedelta(seconds=5)
    assert (await api("GET", "/api/devices", token=body["token"])).status == 200


async def test_wrong_credentials_do_not_say_which_part_was_wrong(api):
    wrong_password = await api("POST", "/api/auth/login", {"username": "admin", "password": "not the password"})
    no_such_user = await api("POST", "/api/auth/login", {"username": "nobody", "password": PASSWORD})
    assert wrong_password.status == no_such_user.status == 401
    assert wrong_password.json == no_such_user.json == {"error": {"code": "AUTH_INVALID", "message": "wrong username or password"}}
    assert api.rest.failed_logins == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "admin"}, "password"),
        ({"password": PASSWORD}, "username"),
        ({"username": 1, "password": PASSWORD}, "username"),
        ({"username": "admin", "password": "x" * 1025}, "password"),
        ({"username": "admin", "password": PASSWORD, "remember": True}, "remember"),
    ],
)
async def test_login_bodies_name_the_wrong_field(api, body, field):
    reply = await api("POST", "/api/auth/login", body)
    assert (reply.status, reply.code) == (422, "VALIDATION_FAILED")
    assert reply.json["error"]["message"].startswith(f"{field}: ")


async def test_refresh_reissues_for_the_stored_user(api):
    reply = await api("POST", "/api/auth/refresh", user="viewer")
    assert reply.status == 200
    fresh = api.authority.verify(reply.json["token"])
    assert fresh.user_id == api.users["viewer"].id and fresh.token_id != api.authority.verify(api.token("viewer")).token_id
    await api.store.delete_user(api.users["viewer"].id)
    gone = await api("POST", "/api/auth/refresh", user="viewer")
    assert (gone.status, gone.code) == (401, "AUTH_INVALID")


async def test_tokens_are_checked(api):
    missing = await api("GET", "/api/devices")
    assert (missing.status, missing.code) == (401, "AUTH_REQUIRED")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    garbage = await api("GET", "/api/devices", token="not.a.jwt")
    assert (garbage.status, garbage.code) == (401, "AUTH_INVALID")
    basic = await api("GET", "/api/devices", headers={"Authorization": "Basic YWRtaW46eA=="})
    assert (basic.status, basic.code) == (401, "AUTH_INVALID")
    old = api.authority.issue(api.users["admin"], ttl=60, now=datetime.now(timezone.utc) - timedelta(hours=1))
    expired = await api("GET", "/api/devices", token=old.token)
    assert (expired.status, expired.code) == (401, "TOKEN_EXPIRED")


# -- roles on every route -----------------------------------------------------------------------------

# (method, path, body, least role (None: no token), success status). For each route the roles are
# tried from viewer up, so only the last (allowed) attempt of a write changes anything.
ROUTES = [
    ("POST", "/api/auth/login", {"username": "viewer", "password": PASSWORD}, None, 200),
    ("POST", "/api/auth/refresh", None, "viewer", 200),
    ("GET", "/api/devices", None, "viewer", 200),
    ("POST", "/api/devices", {"id": "new-1", "host": "127.0.0.1", "port": 9}, "admin", 201),
    ("GET", "/api/devices/core-1", None, "viewer", 200),
    ("PATCH", "/api/devices/api-1", {"tags": ["edge", "lab"]}, "admin", 200),
    ("DELETE", "/api/devices/new-1", None, "admin", 204),
    ("GET", "/api/devices/core-1/interfaces", None, "viewer", 200),
    ("GET", "/api/devices/core-1/components", None, "viewer", 200),
    ("GET", "/api/devices/core-1/traps", None, "viewer", 200),
    ("GET", "/api/devices/core-1/metrics?metric=cpu", None, "viewer", 200),
    ("GET", "/api/alerts?status=active", None, "viewer", 200),
    ("GET", "/api/alerts/al-seeded", None, "viewer", 200),
    ("POST", "/api/alerts/al-seeded/acknowledge", None, "operator", 200),
    ("POST", "/api/alerts/al-seeded/resolve", None, "operator", 200),
    ("GET", "/api/rules", None, "viewer", 200),
    ("POST", "/api/rules", {"id": "new-rule", "metric": "device.cpu", "op": ">", "threshold": 99, "severity": "info"}, "admin", 201),
    ("GET", "/api/rules/new-rule", None, "viewer", 200),
    ("PUT", "/api/rules/new-rule", {"metric": "device.cpu", "op": ">", "threshold": 98, "severity": "info"}, "admin", 200),
    ("DELETE", "/api/rules/new-rule", None, "admin", 204),
    ("GET", "/api/maintenance", None, "viewer", 200),
    ("POST", "/api/maintenance", {"starts": "2026-01-01T00:00:00Z", "ends": "2026-01-01T01:00:00Z", "tags": ["lab"]}, "operator", 201),
    ("DELETE", "/api/maintenance/mw-seeded", None, "operator", 204, "once"),
    ("GET", "/api/topology", None, "viewer", 200),
    ("POST", "/api/topology/discover", None, "operator", 202),
    ("POST", "/api/ml/jobs", {"deviceId": "core-1", "metric": "cpu"}, "operator", 202),
    ("GET", "/api/ml/jobs/job-seeded", None, "operator", 200),
    ("GET", "/api/users", None, "admin", 200),
    ("POST", "/api/users", {"username": "new-user", "password": PASSWORD, "role": "viewer"}, "admin", 201),
    ("GET", "/api/users/u-0000000000000000", None, "admin", 200),
    ("PATCH", "/api/users/u-0000000000000007", {"scope": ["edge", "lab"]}, "admin", 200),
    ("GET", "/api/health", None, None, 200),
    ("GET", "/api/openapi.json", None, None, 200),
    ("GET", "/metrics", None, "viewer", 200),
    # Last: they revoke tokens (the operator's, deleted; the viewer's, logged out).
    ("DELETE", "/api/users/u-0000000000000001", None, "admin", 204),
    ("POST", "/api/auth/logout", None, "viewer", 204, "once"),
]


async def test_every_route_checks_the_role(api):
    templates = {(r.method, r.path) for r in api.rest.router.routes}
    tested = {
        (m, re.sub(r"/(core-1|api-1|new-1|u-[0-9a-f]{16}|al-seeded|new-rule|mw-seeded|job-seeded)", "/{id}", p.split("?")[0]))
        for m, p, *_ in ROUTES
    }
    assert tested == templates, "a route without a role check in this table"
    outcomes = []
    for method, path, body, least, ok, *once in ROUTES:
        anonymous = await api(method, path, body)
        outcomes.append((method, path, None, anonymous.status, ok if least is None else 401))
        if least is None:
            continue
        for role in ("viewer", "operator", "admin"):
            reply = await api(method, path, body, user=role)
            expected = ok if role_allows(role, least) else 403
            outcomes.append((method, path, role, reply.status, expected))
            if reply.status == 403:
                assert reply.code == "FORBIDDEN" and least in reply.json["error"]["message"]
            if once and role == least:  # a delete done: the roles above would find nothing
                break
    wrong = [o for o in outcomes if o[3] != o[4]]
    assert not wrong, "(method, path, role, got, expected): " + repr(wrong)


# -- devices ---------------------------------------------------------------------------------------------


async def test_devices_show_the_live_state_from_the_poller(api):
    device = await wait_for_poll(api, "core-1")
    assert set(device) == DEVICE_KEYS and set(device["metrics"]) == {"cpu", "memory", "bandwidth", "uptime"}
    assert device["status"] in ("up", "degraded") and device["source"] == "config" and device["tags"] == ["core"]
    assert RFC3339.match(device["lastSeen"])
    assert isinstance(device["metrics"]["uptime"], int) and 0 <= device["metrics"]["cpu"] <= 100
    assert device["name"] == "core-1" and device["sysName"] == "<private>" and device["sysObjectId"] == "1.3.6.1.4.1.9.1.1208"
    assert (device["vendor"], device["model"], device["os"], device["type"]) == ("Cisco", "C2960X", "Cisco IOS", "switch")
    assert device["serial"] == "FCW1929B68S"  # the stack's first member (ENTITY-MIB)
    assert device["osVersion"] == "15.0(2a)EX5"  # sysDescr's "Version 15.0(2a)EX5,"
    assert device["metricsStatus"] == {
        "cpu": {"method": "collectors/cisco-ios.toml [cpu] #1", "reason": None},
        "memory": {"method": "collectors/cisco-ios.toml [memory] #3", "reason": None},
    }

    listing = (await api("GET", "/api/devices", user="viewer")).json
    assert [d["id"] for d in listing["devices"]] == ["api-1", "core-1", "edge-1"]
    assert all(set(d) == DEVICE_KEYS for d in listing["devices"])

    interfaces = (await api("GET", "/api/devices/core-1/interfaces", user="viewer")).json
    assert interfaces["deviceId"] == "core-1" and RFC3339.match(interfaces["timestamp"])
    assert interfaces["interfaces"] and set(interfaces["interfaces"][0]) == {
        "ifIndex", "name", "status", "in", "out", "errorsIn", "errorsOut", "description", "alias", "type", "speed", "adminStatus",
        "mtu", "mac", "lastChange", "ignored", "rateReason",
    }
    port = {i["name"]: i for i in interfaces["interfaces"]}["Gi1/0/1"]
    assert port["in"] is None and port["rateReason"].startswith("no_previous: ")  # one poll so far
    assert (port["description"], port["type"], port["speed"], port["adminStatus"]) == ("GigabitEthernet1/0/1", 6, 100_000_000, "up")
    assert (port["mtu"], port["mac"], port["ignored"]) == (1500, "ac:7e:8a:19:bf:01", False)
    # ifLastChange 560693997 at sysUpTime 718475737 (hundredths): 1577817.4 s before the poll.
    changed = datetime.fromisoformat(interfaces["timestamp"]) - datetime.fromisoformat(port["lastChange"])
    assert abs(changed.total_seconds() - 1577817.4) <= 1
    never = (await api("GET", "/api/devices/api-1/interfaces", user="viewer")).json
    assert never == {"deviceId": "api-1", "timestamp": None, "interfaces": []}

    # The processors and pools read, each with its figure: the processor pool is the device's memory.
    components = (await api("GET", "/api/devices/core-1/components", user="viewer")).json
    assert components["deviceId"] == "core-1" and RFC3339.match(components["timestamp"])
    method = "collectors/cisco-ios.toml [cpu] #1"
    assert components["processors"] == [{"index": "1", "description": None, "value": device["metrics"]["cpu"], "counted": True,
                                          "method": method}]
    pools = {c["description"]: (c["index"], c["counted"]) for c in components["memory"]}
    assert pools == {"Processor": ("1", True), "I/O": ("2", False), "Driver text": ("20", False)}
    assert [c["value"] for c in components["memory"] if c["counted"]] == [device["metrics"]["memory"]]
    never = (await api("GET", "/api/devices/api-1/components", user="viewer")).json
    assert never == {"deviceId": "api-1", "timestamp": None, "processors": [], "memory": []}


async def test_add_change_and_remove_a_device(api):
    body = {"id": "lab-9", "host": "127.0.0.1", "port": 9, "community": API_SECRET, "pollInterval": 30, "tags": ["lab"]}
    added = await api("POST", "/api/devices", body, user="admin")
    assert added.status == 201 and added.headers["location"] == "/api/devices/lab-9"
    assert added.json["source"] == "api" and added.json["pollInterval"] == 30 and added.json["status"] is None
    stored = {s.device.id: s for s in await api.store.devices()}
    assert stored["lab-9"].device.community == API_SECRET and stored["lab-9"].source == "api"

    again = await api("POST", "/api/devices", {"id": "lab-9", "host": "127.0.0.2"}, user="admin")
    assert (again.status, again.code) == (409, "CONFLICT")

    changed = await api("PATCH", "/api/devices/lab-9", {"port": 10, "tags": []}, user="admin")
    assert changed.status == 200 and changed.json["port"] == 10 and changed.json["tags"] == []
    assert {s.device.id: s.device for s in await api.store.devices()}["lab-9"].community == API_SECRET  # kept

    assert (await api("DELETE", "/api/devices/lab-9", user="admin")).status == 204
    assert (await api("GET", "/api/devices/lab-9", user="admin")).status == 404
    assert (await api("DELETE", "/api/devices/lab-9", user="admin")).status == 404
    assert "lab-9" not in {s.device.id for s in await api.store.devices()}


async def test_an_snmpv3_device_keeps_its_passwords_and_never_shows_them(api):
    body = {
        "id": "v3-1", "host": "127.0.0.1", "version": "3", "user": "ops", "authProtocol": "SHA-256",
        "authPassword": "auth-" + API_SECRET, "privProtocol": "AES-256-C", "privPassword": "priv-" + API_SECRET, "context": "c1",
    }
    added = await api("POST", "/api/devices", body, user="admin")
    assert added.status == 201, added.json
    assert added.json["snmpv3"] == {
        "user": "ops", "level": "authPriv", "authProtocol": "SHA-256", "privProtocol": "AES-256-C", "context": "c1",
    }
    assert API_SECRET not in added.body.decode()
    listed = await api("GET", "/api/devices", user="admin")
    assert API_SECRET not in listed.body.decode()
    stored = {s.device.id: s.device for s in await api.store.devices()}["v3-1"]
    assert stored.priv_password == "priv-" + API_SECRET and stored.usm_user() is not None
    assert API_SECRET not in repr(stored)
    # Down to authNoPriv: the privacy password stays stored but unused, and the answer says so.
    changed = await api("PATCH", "/api/devices/v3-1", {"level": "authNoPriv"}, user="admin")
    assert changed.json["snmpv3"]["level"] == "authNoPriv" and changed.json["snmpv3"]["privProtocol"] is None
    v2 = await api("GET", "/api/devices/api-1", user="admin")
    assert v2.json["snmpv3"] is None


async def test_configured_devices_are_changed_in_the_configuration_file(api):
    for method, body in (("PATCH", {"tags": []}), ("DELETE", None)):
        reply = await api(method, "/api/devices/core-1", body, user="admin")
        assert (reply.status, reply.code) == (409, "CONFLICT")
        assert "configuration file" in reply.json["error"]["message"]
    assert api.inventory.get("core-1").config.tags == ("core",)


@pytest.mark.parametrize(
    "method, path, body, field",
    [
        ("POST", "/api/devices", {"host": "h"}, "id"),
        ("POST", "/api/devices", {"id": "two words", "host": "h"}, "id"),
        ("POST", "/api/devices", {"id": "a\n", "host": "h"}, "id"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "port": 0}, "port"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "port": "161"}, "port"),
        ("POST", "/api/devices", {"id": "a", "host": "two words"}, "host"),
        ("POST", "/api/devices", {"id": "a", "host": ""}, "host"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "version": "4"}, "version"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "version": "3"}, "user"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "version": "3", "user": "u", "authPassword": "short"}, "authPassword"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "version": "3", "user": "u", "privProtocol": "AES-512"}, "privProtocol"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "user": "u"}, "user"),
        ("PATCH", "/api/devices/api-1", {"version": "3"}, "user"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "pollInterval": 0.5}, "pollInterval"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "pollInterval": 10**30}, "pollInterval"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "tags": ["x", 1]}, "tags[1]"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "community": None}, "community"),
        ("POST", "/api/devices", {"id": "a", "host": "h", "name": "x"}, "name"),
        ("PATCH", "/api/devices/api-1", {"id": "api-2"}, "id"),
        ("PATCH", "/api/devices/api-1", {"port": 70000}, "port"),
    ],
)
async def test_device_bodies_name_the_wrong_field(api, method, path, body, field):
    reply = await api(method, path, body, user="admin")
    assert (reply.status, reply.code) == (422, "VALIDATION_FAILED")
    assert reply.json["error"]["message"].startswith(f"{field}: "), reply.json


@pytest.mark.parametrize(
    "body, content_type, status, says",
    [
        (b'{"id": "a", "host": "h"', "application/json", 400, "not JSON"),
        (b"", "application/json", 400, "empty"),
        (b"[1, 2]", "application/json", 400, "must be a JSON object, not array"),
        (b'"text"', "application/json", 400, "not string"),
        (b'{"id": "a", "host": "h", "pollInterval": NaN}', "application/json", 400, "NaN"),
        (b'{"id": "a", "host": "h", "pollInterval": 1e999}', "application/json", 400, "out of range"),
        (b'{"id": "a", "host": "h", "tags": ["\\ud800"]}', "application/json", 400, "surrogate"),
        (b'{"id": "a", "host": "\xff"}', "application/json", 400, "not UTF-8"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json", 400, "nested"),
        (b'{"id": "a", "host": "h"}', "text/plain", 415, "not text/plain"),
        (b'{"id": "a", "host": "h"}', "application/x-www-form-urlencoded", 415, "application/json"),
        (b'{"id": "a", "host": "h"}', None, 415, "no Content-Type"),
    ],
)
async def test_malformed_bodies(api, body, content_type, status, says):
    reply = await api("POST", "/api/devices", body, user="admin", content_type=content_type)
    assert reply.status == status and says in reply.json["error"]["message"], reply.json
    assert api.inventory.get("a") is None


async def test_json_with_a_charset_parameter_is_json(api):
    reply = await api("POST", "/api/devices", {"id": "cs-1", "host": "127.0.0.1", "port": 9}, user="admin",
                      content_type="Application/JSON; charset=utf-8")
    assert reply.status == 201


# -- scope -------------------------------------------------------------------------------------------------


async def test_a_scoped_user_sees_only_its_devices_and_others_are_not_found(api):
    listing = (await api("GET", "/api/devices", user="edge-viewer")).json
    assert [d["id"] for d in listing["devices"]] == ["api-1", "edge-1"]
    outside = [
        await api("GET", "/api/devices/core-1", user="edge-viewer"),
        await api("GET", "/api/devices/core-1/interfaces", user="edge-viewer"),
        await api("GET", "/api/devices/core-1/components", user="edge-viewer"),
        await api("GET", "/api/devices/core-1/metrics?metric=cpu", user="edge-viewer"),
        await api("PATCH", "/api/devices/core-1", {"tags": ["edge"]}, user="edge-admin"),
        await api("DELETE", "/api/devices/core-1", user="edge-admin"),
    ]
    missing = await api("GET", "/api/devices/no-such", user="edge-viewer")
    assert all((r.status, r.code) == (404, "NOT_FOUND") for r in outside)
    # The same answer as for a device that does not exist, but for the id itself.
    assert outside[0].json["error"]["message"].replace("core-1", "no-such") == missing.json["error"]["message"]
    assert (await api("GET", "/api/devices/edge-1", user="edge-viewer")).status == 200


async def test_a_scoped_admin_stays_inside_its_scope(api):
    outside = await api("POST", "/api/devices", {"id": "x-1", "host": "127.0.0.1", "tags": ["core"]}, user="edge-admin")
    assert (outside.status, outside.code) == (403, "FORBIDDEN") and "edge" in outside.json["error"]["message"]
    inside = await api("POST", "/api/devices", {"id": "x-1", "host": "127.0.0.1", "tags": ["edge"]}, user="edge-admin")
    assert inside.status == 201
    leaving = await api("PATCH", "/api/devices/x-1", {"tags": ["core"]}, user="edge-admin")
    assert (leaving.status, leaving.code) == (403, "FORBIDDEN")
    for method, path, body in (
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"username": "escalate", "password": PASSWORD, "role": "admin"}),
        ("GET", f"/api/users/{api.users['admin'].id}", None),
        ("DELETE", f"/api/users/{api.users['admin'].id}", None),
    ):
        reply = await api(method, path, body, user="edge-admin")
        assert (reply.status, reply.code) == (403, "FORBIDDEN"), (method, path)
    assert len(await api.store.users()) == len(USERS)


# -- history -------------------------------------------------------------------------------------------------


async def test_metric_history(api):
    now = int(time.time())
    base = now - now % 3600 - 3600
    api.store.add_samples([Sample("core-1", "cpu", base + 60 * i, float(i)) for i in range(60)])
    api.store.add_samples([Sample("edge-1", "cpu", base, 99.0)])
    await api.store.flush()
    start = datetime.fromtimestamp(base, timezone.utc).isoformat()
    raw = (await api("GET", f"/api/devices/core-1/metrics?metric=cpu&from={base}&to={base + 600}", user="viewer")).json
    assert raw["step"] == 0 and [p["avg"] for p in raw["points"]] == [float(i) for i in range(10)]
    assert raw["from"] == datetime.fromtimestamp(base, timezone.utc).astimezone().isoformat()
    assert set(raw["points"][0]) == {"timestamp", "avg", "min", "max"} and RFC3339.match(raw["points"][0]["timestamp"])
    five = (await api("GET", f"/api/devices/core-1/metrics?metric=cpu&from={start.replace('+', '%2B')}&to={base + 3600}&step=300",
                      user="viewer")).json
    assert len(five["points"]) == 12 and five["points"][0] == {
        "timestamp": raw["from"], "avg": 2.0, "min": 0.0, "max": 4.0,
    }
    ten = (await api("GET", f"/api/devices/core-1/metrics?metric=cpu&from={base}&to={base + 3600}&step=600", user="viewer")).json
    assert [(p["min"], p["max"]) for p in ten["points"]][:2] == [(0.0, 9.0), (10.0, 19.0)]
    default = (await api("GET", "/api/devices/core-1/metrics?metric=bandwidth.in", user="viewer")).json
    assert default["step"] == 0 and RFC3339.match(default["to"])


@pytest.mark.parametrize(
    "query, says",
    [
        ("", "metric: is required"),
        ("metric=cpu_load", "metric: 'cpu_load' does not match"),
        ("metric=cpu&from=yesterday", "from: 'yesterday' is neither"),
        ("metric=cpu&from=2025-01-03T07:12:55", "with an offset"),
        ("metric=cpu&from=100&to=50", "from: must be before to"),
        ("metric=cpu&to=99999999999999", "to: must be between 1970 and 9999"),
        ("metric=cpu&step=-5", "step: '-5' is not a whole number"),
    ],
)
async def test_metric_history_parameters(api, query, says):
    reply = await api("GET", f"/api/devices/core-1/metrics?{query}", user="viewer")
    assert (reply.status, reply.code) == (400, "INVALID_PARAMETER") and says in reply.json["error"]["message"], reply.json


def test_merge_keeps_min_max_and_averages_points():
    points = [HistoryPoint(ts, float(ts), float(ts) - 1, float(ts) + 1) for ts in (0, 300, 600, 900)]
    assert merge(points, 0) == points
    assert merge(points, 600) == [HistoryPoint(0, 150.0, -1.0, 301.0), HistoryPoint(600, 750.0, 599.0, 901.0)]
    assert merge(points[1:2], 600) == [HistoryPoint(0, 300.0, 299.0, 301.0)]


# -- users ------------------------------------------------------------------------------------------------------


async def test_a_new_password_for_admin_removes_the_first_ones_file(api, tmp_path):
    kept = initial.keep(tmp_path, "the-generated-one")  # the database is in tmp_path
    changed = await api("PATCH", f"/api/users/{api.users['operator'].id}", {"password": "operator-pass-2"}, user="admin")
    assert changed.status == 200 and kept.exists()  # another user's password
    changed = await api("PATCH", f"/api/users/{api.users['admin'].id}", {"password": "admin-pass-22"}, user="admin")
    assert changed.status == 200, changed.json
    assert not kept.exists()


async def test_users(api):
    listing = (await api("GET", "/api/users", user="admin")).json["users"]
    assert [u["username"] for u in listing] == sorted(USERS)
    assert all(set(u) == {"id", "username", "role", "scope", "createdAt"} for u in listing)
    assert b"scrypt" not in (await api("GET", "/api/users", user="admin")).body

    created = await api("POST", "/api/users", {"username": "noc", "password": PASSWORD, "role": "operator", "scope": ["core"]},
                        user="admin")
    assert created.status == 201 and created.json["scope"] == ["core"] and created.json["role"] == "operator"
    assert created.headers["location"] == f"/api/users/{created.json['id']}"
    assert (await api("GET", created.headers["location"], user="admin")).json == created.json
    login = await api("POST", "/api/auth/login", {"username": "noc", "password": PASSWORD})
    assert login.json["role"] == "operator"
    assert [d["id"] for d in (await api("GET", "/api/devices", token=login.json["token"])).json["devices"]] == ["core-1"]

    taken = await api("POST", "/api/users", {"username": "NOC", "password": PASSWORD, "role": "viewer"}, user="admin")
    assert (taken.status, taken.code) == (409, "CONFLICT")
    for body, field in (
        ({"username": "x", "password": "short", "role": "viewer"}, "password"),
        ({"username": "x", "password": PASSWORD, "role": "root"}, "role"),
        ({"username": "has space", "password": PASSWORD, "role": "viewer"}, "username"),
        ({"username": "x", "password": PASSWORD, "role": "viewer", "scope": [" "]}, "scope[0]"),
    ):
        reply = await api("POST", "/api/users", body, user="admin")
        assert (reply.status, reply.code) == (422, "VALIDATION_FAILED") and reply.json["error"]["message"].startswith(field)

    assert (await api("DELETE", created.headers["location"], user="admin")).status == 204
    assert (await api("GET", created.headers["location"], user="admin")).status == 404
    assert (await api("DELETE", created.headers["location"], user="admin")).status == 404


async def test_the_last_admin_cannot_be_deleted(api):
    assert (await api("DELETE", f"/api/users/{api.users['edge-admin'].id}", user="admin")).status == 204
    last = await api("DELETE", f"/api/users/{api.users['admin'].id}", user="admin")
    assert (last.status, last.code) == (409, "CONFLICT") and "last admin" in last.json["error"]["message"]


# -- alerts, rules, maintenance windows -----------------------------------------------------------------------


async def test_alerts_list_filter_and_stay_inside_the_scope(api):
    everything = (await api("GET", "/api/alerts", user="viewer")).json["alerts"]
    seeded = next(a for a in everything if a["alertId"] == "al-seeded")
    assert set(seeded) >= {
        "alertId", "ruleId", "severity", "deviceId", "interface", "message", "status", "value", "threshold",
        "createdAt", "updatedAt", "updatedBy",
    }
    assert (seeded["status"], seeded["deviceId"], seeded["updatedBy"]) == ("open", "api-1", None)
    assert RFC3339.match(seeded["createdAt"])
    for query, keep in (("severity=critical", True), ("severity=info", False), ("deviceId=api-1", True),
                        ("deviceId=core-1", False), ("status=open", True), ("status=resolved", False)):
        found = [a["alertId"] for a in (await api("GET", f"/api/alerts?{query}", user="viewer")).json["alerts"]]
        assert ("al-seeded" in found) == keep, query
    # api-1 carries the tag edge: a core-scoped user neither lists nor reads it.
    assert "al-seeded" not in [a["alertId"] for a in (await api("GET", "/api/alerts", user="core-viewer")).json["alerts"]]
    assert (await api("GET", "/api/alerts/al-seeded", user="core-viewer")).status == 404
    assert (await api("POST", "/api/alerts/al-seeded/acknowledge", user="core-operator")).status == 404
    for query, says in (("status=closed", "status:"), ("severity=major", "severity:"), ("limit=0", "limit:"),
                        ("limit=x", "limit:"), ("severty=critical", "unknown parameter")):
        reply = await api("GET", f"/api/alerts?{query}", user="viewer")
        assert (reply.status, reply.code) == (400, "INVALID_PARAMETER") and says in reply.json["error"]["message"]


async def test_acknowledge_and_resolve_record_who_and_answer_retries_alike(api):
    operator = api.users["operator"].id
    acked = await api("POST", "/api/alerts/al-seeded/acknowledge", user="operator")
    assert acked.status == 200 and (acked.json["status"], acked.json["updatedBy"]) == ("acknowledged", operator)
    again = await api("POST", "/api/alerts/al-seeded/acknowledge", user="admin")
    assert again.status == 200 and again.json["updatedBy"] == operator  # nothing changed
    done = await api("POST", "/api/alerts/al-seeded/resolve", user="admin")
    assert (done.json["status"], done.json["updatedBy"]) == ("resolved", api.users["admin"].id)
    late = await api("POST", "/api/alerts/al-seeded/acknowledge", user="operator")
    assert (late.status, late.code) == (409, "CONFLICT")
    detail = (await api("GET", "/api/alerts/al-seeded", user="viewer")).json
    assert [(h["change"], h["by"]) for h in detail["history"]] == [
        ("new", None), ("acknowledged", operator), ("resolved", api.users["admin"].id)]
    assert (await api("POST", "/api/alerts/al-nothing/resolve", user="operator")).status == 404


async def test_rules_through_the_api(api):
    rules = {r["id"]: r for r in (await api("GET", "/api/rules", user="viewer")).json["rules"]}
    assert set(rules) == {"device-down", "cpu-high", "memory-high", "interface-down", "rebooted"}
    assert rules["cpu-high"] == {
        "id": "cpu-high", "name": None, "metric": "device.cpu", "op": ">", "threshold": 90, "clear": 80, "for": 120,
        "severity": "warning", "devices": [], "tags": [], "interfaces": [], "message": None, "enabled": True, "labels": [],
        "source": "default",
    }
    body = {"id": "edge-errors", "metric": "interface.errors", "op": ">", "threshold": 10, "severity": "warning",
            "tags": ["edge"], "interfaces": ["xe-*"]}
    created = await api("POST", "/api/rules", body, user="admin")
    assert created.status == 201 and created.json["source"] == "api" and created.headers["location"] == "/api/rules/edge-errors"
    assert (await api("POST", "/api/rules", body, user="admin")).code == "CONFLICT"
    changed = await api("PUT", "/api/rules/edge-errors", {**body, "threshold": 20, "clear": 5}, user="admin")
    assert (changed.status, changed.json["threshold"], changed.json["clear"]) == (200, 20, 5)
    for bad, says in (
        ({**body, "id": "x"}, "id:"), ({**body, "clear": 50}, "clear: must be on the safe side"),
        ({**body, "metric": "device.status"}, "op: device.status is a state"), ({**body, "message": "{nope}"}, "message:"),
    ):
        reply = await api("PUT", "/api/rules/edge-errors", bad, user="admin")
        assert (reply.status, reply.code) == (422, "VALIDATION_FAILED") and says in reply.json["error"]["message"], reply.json
    assert (await api("DELETE", "/api/rules/edge-errors", user="admin")).status == 204
    assert (await api("GET", "/api/rules/edge-errors", user="viewer")).status == 404


async def test_maintenance_windows_through_the_api(api):
    window = {"starts": "2030-02-01T00:00:00+01:00", "ends": "2030-02-01T02:00:00+01:00", "devices": ["core-1"], "reason": "IOS upgrade"}
    created = await api("POST", "/api/maintenance", window, user="operator")
    assert created.status == 201
    assert (created.json["devices"], created.json["reason"], created.json["active"]) == (["core-1"], "IOS upgrade", False)
    assert created.json["createdBy"] == api.users["operator"].id
    listed = [w["id"] for w in (await api("GET", "/api/maintenance", user="viewer")).json["windows"]]
    assert created.json["id"] in listed
    for bad, says in (({**window, "ends": window["starts"]}, "ends: must be after starts"),
                      ({**window, "devices": []}, "name at least one"), ({**window, "starts": "tomorrow"}, "starts:")):
        reply = await api("POST", "/api/maintenance", bad, user="operator")
        assert (reply.status, reply.code) == (422, "VALIDATION_FAILED") and says in reply.json["error"]["message"]
    outside = await api("POST", "/api/maintenance", {**window, "devices": [], "tags": ["core"]}, user="edge-operator")
    assert outside.status == 403
    assert (await api("DELETE", f"/api/maintenance/{created.json['id']}", user="operator")).status == 204
    assert (await api("DELETE", f"/api/maintenance/{created.json['id']}", user="operator")).status == 404


# -- topology ------------------------------------------------------------------------------------------------


async def test_topology_from_the_recordings_whole_scoped_and_as_dot(api):
    with trio.fail_after(30):
        while not api.rest.topology.graph.nodes:
            await trio.sleep(0.1)
    whole = (await api("GET", "/api/topology", user="viewer")).json
    assert set(whole) == {"nodes", "links", "updatedAt"} and RFC3339.match(whole["updatedAt"])
    nodes = {n["id"]: n for n in whole["nodes"]}
    assert nodes["core-1"]["managed"] and nodes["edge-1"]["managed"]
    # ios_2960x: 7 CDP neighbours (access points), nobody monitors them: endpoints.
    aps = [x for x in whole["links"] if "core-1" in (x["source"], x["target"])]
    assert len(aps) == 7 and {x["protocol"] for x in aps} == {"cdp"}
    ap = next(x for x in aps if "Gi1/0/3" in (x["sourcePort"], x["targetPort"]))
    other = ap["target"] if ap["source"] == "core-1" else ap["source"]
    assert nodes[other] == {"id": "nbr-acme-fr-ap-011", "type": "endpoint", "name": "acme-fr-ap-011", "managed": False}
    scoped = (await api("GET", "/api/topology", user="edge-viewer")).json
    seen = {n["id"] for n in scoped["nodes"]}
    assert "edge-1" in seen and "core-1" not in seen and other not in seen
    assert all(x["source"] in seen and x["target"] in seen for x in scoped["links"])
    text = await api("GET", "/api/topology?format=dot", user="viewer")
    assert text.headers["content-type"].startswith("text/vnd.graphviz") and text.body.startswith(b"graph eyenet {")
    bad = await api("GET", "/api/topology?format=svg", user="viewer")
    assert (bad.status, bad.code) == (400, "INVALID_PARAMETER")
    assert (await api("POST", "/api/topology/discover", user="operator")).json == {"status": "started"}


# -- anomaly jobs ------------------------------------------------------------------------------------------


async def test_anomaly_jobs_find_a_spike_in_stored_history(api):
    end = int(time.time()) // 60 * 60
    rng = random.Random(3)
    samples = [Sample("api-1", "cpu", end - 4 * 3600 + 60 * n, 30 + rng.gauss(0, 3)) for n in range(180)]
    samples += [Sample("api-1", "cpu", end - 3600 + 60 * n, 97.0 if n == 40 else 30 + rng.gauss(0, 3)) for n in range(60)]
    api.store.add_samples(samples)
    await api.store.flush()
    body = {"deviceId": "api-1", "metric": "cpu", "from": end - 3600, "to": end, "baseline": 3 * 3600}
    queued = await api("POST", "/api/ml/jobs", body, user="operator")
    assert queued.status == 202 and queued.json["status"] in ("queued", "running", "completed")
    assert queued.headers["location"] == f"/api/ml/jobs/{queued.json['jobId']}"
    with trio.fail_after(20):
        while (job := (await api("GET", f"/api/ml/jobs/{queued.json['jobId']}", user="operator")).json)["status"] != "completed":
            await trio.sleep(0.1)
    assert job["results"][0]["label"] == "spike" and 0.5 < job["results"][0]["confidence"] < 1
    assert job["reason"] is None and job["createdBy"] == api.users["operator"].id and RFC3339.match(job["window"]["from"])
    # Scope: a core operator neither starts nor reads jobs on an edge device.
    assert (await api("POST", "/api/ml/jobs", body, user="core-operator")).status == 404
    assert (await api("GET", f"/api/ml/jobs/{job['jobId']}", user="core-operator")).status == 404
    for bad, says in (({**body, "from": end}, "from: must be before to"), ({**body, "to": "yesterday"}, "to:"),
                      ({**body, "metric": "temperature"}, "metric:"), ({**body, "baseline": 5}, "baseline:")):
        reply = await api("POST", "/api/ml/jobs", bad, user="operator")
        assert (reply.status, reply.code) == (422, "VALIDATION_FAILED") and says in reply.json["error"]["message"], reply.json
    assert (await api("POST", "/api/ml/jobs", {**body, "deviceId": "nothing"}, user="operator")).status == 404


# -- health, document, metrics, routing --------------------------------------------------------------------------


async def test_health_needs_no_token_and_reports_each_component(api):
    reply = await api("GET", "/api/health")
    assert reply.status == 200 and reply.json["status"] == "ok" and reply.json["reasons"] == []
    assert RFC3339.match(reply.json["time"])
    parts = reply.json["components"]
    assert set(parts) == {"store", "poller", "bus", "alerts", "topology", "ml"}
    assert all(part["status"] == "ok" and part["reasons"] == [] for part in parts.values())
    assert parts["store"]["queueCapacity"] > 0 and parts["poller"]["devices"] == 3
    assert parts["topology"]["interval"] > 0 and parts["ml"]["queued"] == 0


async def test_health_is_503_with_the_reasons_when_a_component_is_down(api):
    api.rest.health_fn = lambda: {
        "store": Health(Status.DOWN, ("writes fail: disk I/O error",)), "poller": Health(Status.DEGRADED, ("2 late",)),
    }
    reply = await api("GET", "/api/health")
    assert reply.status == 503 and reply.json["status"] == "down"
    assert reply.json["reasons"] == ["store: writes fail: disk I/O error", "poller: 2 late"]
    assert reply.json["components"]["store"] == {"status": "down", "reasons": ["writes fail: disk I/O error"]}


async def test_the_openapi_document_describes_exactly_what_is_served(api):
    doc = (await api("GET", "/api/openapi.json")).json
    assert doc["openapi"].startswith("3.1")
    served = {(r.method.lower(), r.path) for r in api.rest.router.routes}
    assert {(m, p) for p, ops in doc["paths"].items() for m in ops} == served
    assert doc["components"]["securitySchemes"]["bearer"]["bearerFormat"] == "JWT"
    login = doc["paths"]["/api/auth/login"]["post"]
    assert login["security"] == [] and "401" in login["responses"]
    assert doc["paths"]["/api/devices"]["post"]["security"] == [{"bearer": []}]
    codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert codes == list(ERRORS)
    assert doc["components"]["schemas"]["NewDevice"]["properties"]["community"]["writeOnly"] is True


async def test_prometheus_metrics(api):
    await wait_for_poll(api, "core-1")
    assert (await api("GET", "/metrics")).status == 401
    reply = await api("GET", "/metrics", user="viewer")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = reply.body.decode()
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\.)*",?)*\})? -?[0-9.e+-]+$')
    assert all(sample.match(line) for line in text.splitlines() if not line.startswith("#")), text
    assert 'eyenet_device_up{device="core-1"} 1' in text
    assert 'eyenet_device_cpu_percent{device="core-1"}' in text and 'eyenet_interface_up{device="core-1",ifindex="1"' in text
    assert 'eyenet_http_requests_total{method="GET",route="/metrics",code="401"} 1' in text
    assert "eyenet_build_info" in text
    assert int(re.search(r"^eyenet_tasks (\d+)$", text, re.M)[1]) > 10  # the app's services, each a task or more
    scoped = (await api("GET", "/metrics", user="edge-viewer")).body.decode()
    assert 'device="core-1"' not in scoped and "eyenet_build_info" not in scoped


async def test_metrics_can_be_open(tmp_path):
    async with Store.open(tmp_path / "eyenet.db") as store:
        bus = Bus()
        inventory = Inventory(store, bus, poller=None)
        await inventory.load()
        authority = TokenAuthority.from_settings(AuthSettings(secret_file=str(tmp_path / "jwt.secret")))
        rest = RestApi(
            inventory, store, AlertService(store, bus, inventory.device_tags), TopologyService(None, inventory, None, store, bus),
            MlService(store, bus), authority, settings=WebSettings(metrics_auth=False),
        )
        reply = await rest.http(Request("GET", "/metrics", "/metrics", {}, (), b"", None))
    assert reply.status == 200 and b"eyenet_build_info" in b"".join(reply.chunks)
    assert rest.openapi["paths"]["/metrics"]["get"]["security"] == []


async def test_routing(api):
    unknown = await api("GET", "/api/nothing", user="admin")
    assert (unknown.status, unknown.code) == (404, "NOT_FOUND")
    trailing = await api("GET", "/api/devices/", user="admin")
    assert trailing.status == 404
    wrong = await api("PUT", "/api/devices/core-1", {}, user="admin")
    assert (wrong.status, wrong.code) == (405, "METHOD_NOT_ALLOWED")
    assert wrong.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    head = await api("HEAD", "/api/devices", user="viewer")
    assert head.status == 200 and head.body == b""


# -- the document and the API agree on every query parameter ------------------------------------------------

# Where each operation with query parameters is tried, and the parameters it needs besides.
QUERY_ROUTES = {
    "/api/devices/{id}/metrics": ("/api/devices/core-1/metrics", {"metric": "cpu"}),
    "/api/devices/{id}/traps": ("/api/devices/core-1/traps", {}),
    "/api/alerts": ("/api/alerts", {}),
    "/api/topology": ("/api/topology", {}),
}
# Values a pattern takes and refuses (the document gives the pattern, not examples).
PATTERN_VALUES = {
    "metric": (["cpu", "bandwidth.out", "if.1.in"], ["", "cpu_load", "cpu\n", "if.x.in"]),
    "deviceId": (["core-1", "Zsk", "no-such-device"], ["", "two words", "core-1\n", "-x"]),
}
MOMENTS = (["0", "1700000000", "2023-11-14T22:13:20Z", "2023-11-14T23:13:20+01:00"],
           ["", "yesterday", "2023-11-14T22:13:20", "-1", "253402300800", "1e9"])


def _edges(name: str, schema: dict) -> tuple[list[str], list[str]]:
    """Values the document says `name` takes, and values it says it refuses, at the edges."""
    if "enum" in schema:
        return list(schema["enum"]), ["", schema["enum"][0].upper(), schema["enum"][0] + " "]
    if "anyOf" in schema:  # Unix seconds or RFC 3339
        return MOMENTS
    if schema["type"] == "integer":
        low, high = schema["minimum"], schema["maximum"]
        return [str(low), str(high)], [str(low - 1), str(high + 1), "", "1.5", "x", f"+{low}"]
    return PATTERN_VALUES[name]


async def test_every_query_parameter_is_checked_as_the_document_says(api):
    doc = (await api("GET", "/api/openapi.json")).json
    tried, wrong = set(), []
    for path, ops in doc["paths"].items():
        for param in (p for p in ops.get("get", {}).get("parameters", ()) if p["in"] == "query"):
            name = param["name"]
            url, needed = QUERY_ROUTES[path]
            good, bad = _edges(name, param["schema"])
            if name == "from":  # from must come before to (which is now): its edges are taken against a later to
                needed = {**needed, "to": "253402300799"}
            for value, ok in [(v, True) for v in good] + [(v, False) for v in bad]:
                query = urlencode({**needed, name: value})
                reply = await api("GET", f"{url}?{query}", user="viewer")
                if ok and reply.status != 200 or not ok and (
                    reply.status != 400 or not reply.json["error"]["message"].startswith(f"{name}: ")
                ):
                    wrong.append((path, name, value, reply.status, reply.body[:120]))
            twice = await api("GET", f"{url}?{urlencode({**needed, name: good[0]})}&{urlencode({name: good[0]})}", user="viewer")
            if twice.status != 400:
                wrong.append((path, name, "given twice", twice.status, twice.body[:120]))
            tried.add((path, name))
    metrics, alerts = "/api/devices/{id}/metrics", "/api/alerts"
    assert tried == {(metrics, "metric"), (metrics, "from"), (metrics, "to"), (metrics, "step"), (alerts, "status"),
                     (alerts, "severity"), (alerts, "deviceId"), (alerts, "limit"), ("/api/topology", "format"),
                     ("/api/devices/{id}/traps", "limit"), ("/api/devices/{id}/traps", "before")}
    assert not wrong, wrong


async def test_an_alert_filter_on_an_unknown_or_hidden_device_is_an_empty_list(api):
    for user, device in (("viewer", "no-such"), ("edge-viewer", "no-such"), ("edge-viewer", "core-1"), ("core-viewer", "api-1")):
        reply = await api("GET", f"/api/alerts?deviceId={device}", user=user)
        assert (reply.status, reply.json) == (200, {"alerts": []}), (user, device)


async def test_an_empty_format_is_not_json(api):
    reply = await api("GET", "/api/topology?format=", user="viewer")
    assert (reply.status, reply.code) == (400, "INVALID_PARAMETER") and reply.json["error"]["message"].startswith("format: ")


@pytest.mark.parametrize(
    "body, status, says",
    [
        ({"id": "f-1", "host": "127.0.0.1", "port": 161.0}, 201, None),  # JSON Schema's integer
        ({"id": "f-2", "host": "127.0.0.1", "port": 161.5}, 422, "port: expected int"),
        ({"id": "f-3\n", "host": "127.0.0.1"}, 422, "id: expected str matching regex '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'"),
        ({"id": "f-4", "host": "127.0.0.1", "pollInterval": 30}, 201, None),
        ({"id": "f-5", "host": "127.0.0.1", "port": True}, 422, "port: expected int, got bool"),
        ({"id": "f-6", "host": "127.0.0.1", "color": "red"}, 422, "color: unknown field (expected one of: id, host,"),
    ],
)
async def test_body_fields_are_checked_as_the_document_says(api, body, status, says):
    reply = await api("POST", "/api/devices", body, user="admin")
    assert reply.status == status, reply.body
    if says is not None:
        assert reply.json["error"]["message"].startswith(says), reply.json
    elif "pollInterval" in body:
        assert reply.json["pollInterval"] == 30
