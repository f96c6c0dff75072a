"""Users, scrypt password hashes, roles, scopes, and users in the store."""

import base64
import hashlib
import re
import sqlite3

import pytest
import trio

from eyenet.auth.model import ROLES, AuthError, User, role_allows, scope_allows
from eyenet.auth.passwords import hash_password, verify_password
from eyenet.auth.users import ADMIN_PASSWORD_ENV, authenticate, ensure_admin, new_user, set_password
from eyenet.devices.model import DeviceConfig, StoredDevice
from eyenet.store.db import Store
from eyenet.store.errors import AlreadyExists, LastAdmin, StoreError
from eyenet.store.schema import MIGRATIONS


def test_role_hierarchy():
    allowed = {(r, n) for r in ROLES for n in ROLES if role_allows(r, n)}
    assert allowed == {
        ("viewer", "viewer"), ("operator", "viewer"), ("operator", "operator"),
        ("admin", "viewer"), ("admin", "operator"), ("admin", "admin"),
    }
    assert not role_allows("root", "viewer") and not role_allows("admin", "root") and not role_allows("", "viewer")


def test_scopes():
    assert scope_allows((), ("core",)) and scope_allows((), ())
    assert scope_allows(("core", "dc1"), ("edge", "dc1"))
    assert not scope_allows(("core",), ("edge",)) and not scope_allows(("core",), ())


def test_scrypt_round_trip_and_format():
    stored = hash_password("correct horse")
    _, scheme, params, salt, digest = stored.split("$")
    assert (scheme, params) == ("scrypt", "n=16384,r=8,p=1")
    assert len(base64.urlsafe_b64decode(salt + "==")) == 16 and len(base64.urlsafe_b64decode(digest + "=")) == 32
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored) and not verify_password("", stored)
    assert hash_password("correct horse") != stored  # a fresh salt each time
    assert verify_password("pässwörd ✓", hash_password("pässwörd ✓"))


def test_hashes_with_other_parameters_still_verify():
    """The parameters are read from the stored string, so raising them later keeps old hashes valid."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"old password", salt=salt, n=2**12, r=4, p=2, dklen=24)
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    stored = f"$scrypt$n=4096,r=4,p=2${enc(salt)}${enc(digest)}"
    assert verify_password("old password", stored) and not verify_password("new password", stored)


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "$scrypt$n=16384,r=8,p=1$c2FsdA$", "$bcrypt$n=1,r=1,p=1$c2FsdA$aGFzaA", "$scrypt$n=3,r=8,p=1$c2FsdA$aGFzaA",
     "$scrypt$r=8,p=1$c2FsdA$aGFzaA", "$scrypt$n=x,r=8,p=1$c2FsdA$aGFzaA", "$scrypt$n=16384,r=8,p=1$***$aGFzaA"],
)
def test_malformed_hashes_verify_nothing(stored):
    assert not verify_password("anything", stored)


async def test_new_user_validates_and_hashes_off_the_event_loop():
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        user = await new_user("alice", "operator", "s3cret-passphrase", ["core", "dc1", "core"])
        nursery.cancel_scope.cancel()
    assert ticks > 10  # the loop kept running while scrypt worked
    assert user.id.startswith("u-") and len(user.id) == 18 and user.scope == ("core", "dc1")
    assert verify_password("s3cret-passphrase", user.password_hash)
    assert user.password_hash not in repr(user)
    for args, message in [
        (("al ice", "viewer", "s3cret-passphrase"), "bad username 'al ice'"),
        (("", "viewer", "s3cret-passphrase"), "bad username ''"),
        (("alice\n", "viewer", "s3cret-passphrase"), r"bad username 'alice\n'"),
        (("alice", "root", "s3cret-passphrase"), "bad role 'root': use one of viewer, operator, admin"),
        (("alice", "viewer", "short"), "password is too short: use at least 12 characters"),
        (("alice", "viewer", "x" * 1025), "password is too long"),
        (("alice", "viewer", "s3cret-passphrase", [""]), "bad scope tag ''"),
    ]:
        with pytest.raises(AuthError, match=re.escape(message)):
            await new_user(*args)


async def test_users_survive_a_restart(tmp_path):
    db = tmp_path / "eyenet.db"
    alice = await new_user("alice", "operator", "alice-password", ["core"])
    bob = await new_user("Bob", "admin", "bob-password-1")
    async with Store.open(db) as store:
        assert await store.add_user(alice) and await store.add_user(bob)
        with pytest.raises(AlreadyExists, match="a user named 'ALICE' already exists"):
            await store.add_user(User("u-other", "ALICE", "viewer", (), "x", 0))
        assert not await store.add_user(User("u-x", "carol", "viewer", (), "x", 0), if_no_users=True)
        await set_password(store, bob, "bob-password-2")
    async with Store.open(db) as store:
        users = await store.users()
        assert [(u.username, u.role, u.scope) for u in users] == [("alice", "operator", ("core",)), ("Bob", "admin", ())]
        assert users[0] == alice
        assert await store.user_by_name("bob") == await store.user_by_id(bob.id) == users[1]
        assert await store.user_by_name("carol") is None and await store.user_by_id("u-nope") is None
        assert await authenticate(store, "bob", "bob-password-2") == users[1]
        assert await authenticate(store, "Bob", "bob-password-1") is None
        assert await authenticate(store, "nobody", "bob-password-2") is None
        assert await authenticate(store, "not a name!", "x") is None
        with pytest.raises(LastAdmin, match="'Bob' is the last admin"):
            await store.delete_user(bob.id)
        assert await store.delete_user(alice.id) and not await store.delete_user(alice.id)
        assert await store.change_user(alice.id, password_hash="x") is None
        with pytest.raises(AuthError, match="no user named 'alice'"):
            await set_password(store, alice, "long enough too")
    async with Store.open(db) as store:
        assert [u.username for u in await store.users()] == ["Bob"]


async def test_a_database_from_before_users_is_upgraded(tmp_path):
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO devices (id, host, created_at) VALUES ('core-1', '192.0.2.1', 0)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    async with Store.open(db) as store:
        assert [s.device.id for s in await store.devices()] == ["core-1"]
        await store.add_user(await new_user("alice", "viewer", "alice-password"))
        await store.upsert_device(StoredDevice(DeviceConfig("sw-2", "192.0.2.2")))
        assert [u.username for u in await store.users()] == ["alice"]
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_the_store_refuses_an_unknown_role(tmp_path):
    async with Store.open(tmp_path / "e.db") as store:
        with pytest.raises(StoreError, match="CHECK constraint failed"):
            await store.add_user(User("u-1", "eve", "root", (), "x", 0))
        assert await store.users() == []


async def test_ensure_admin_generates_a_password_once(tmp_path):
    async with Store.open(tmp_path / "e.db") as store:
        password = await ensure_admin(store, {})
        assert password is not None and len(password) >= 16
        admin = await authenticate(store, "admin", password)
        assert admin is not None and admin.role == "admin" and admin.scope == ()
        assert await ensure_admin(store, {}) is None
        assert await ensure_admin(store, {ADMIN_PASSWORD_ENV: "another-password"}) is None
        assert await authenticate(store, "admin", "another-password") is None
        assert [u.username for u in await store.users()] == ["admin"]


async def test_ensure_admin_takes_the_password_from_the_environment(tmp_path):
    async with Store.open(tmp_path / "e.db") as store:
        with pytest.raises(AuthError, match=f"{ADMIN_PASSWORD_ENV} is too short"):
            await ensure_admin(store, {ADMIN_PASSWORD_ENV: "short"})
        assert await store.users() == []
        assert await ensure_admin(store, {ADMIN_PASSWORD_ENV: "from-the-env"}) is None
        assert (await authenticate(store, "admin", "from-the-env")).role == "admin"


async def test_ensure_admin_leaves_existing_users_alone(tmp_path):
    async with Store.open(tmp_path / "e.db") as store:
        await store.add_user(await new_user("ops", "viewer", "ops-password"))
        assert await ensure_admin(store, {}) is None
        assert [u.username for u in await store.users()] == ["ops"]
