"""JWT issue/verify against real keys, the attack matrix, the secret file, event keys and JWE."""

import base64
import hashlib
import hmac
import json
import os
import stat
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwe as jwcrypto_jwe
from jwcrypto import jwk as jwcrypto_jwk

from eyenet.auth.model import User
from eyenet.auth.tokens import KeyFileError, TokenAuthority, TokenError, check_settings, jwe_encrypt, load_secret
from eyenet.cli import main
from eyenet.config import AuthSettings, ConfigError, parse_config

ALICE = User("u-0123456789abcdef", "alice", "operator", ("core", "dc1"))
ROOT = User("u-fedcba9876543210", "root", "admin")
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_private(path, key, mode=0o600, password=None):
    encryption = serialization.NoEncryption() if password is None else serialization.BestAvailableEncryption(password)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    path.chmod(mode)
    return str(path)


def write_public(path, key):
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(path)


KEYS = {
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


def settings(tmp_path, algorithm="HS256", key=None, **kw) -> AuthSettings:
    if key is not None:
        kw["private_key"] = write_private(tmp_path / "key.pem", key)
        kw["public_key"] = write_public(tmp_path / "pub.pem", key)
    return AuthSettings(algorithm=algorithm, secret_file=str(tmp_path / "jwt.secret"), **kw)


def hs256(payload: dict, key: bytes, header: dict | None = None) -> str:
    """A compact JWS built by hand, so nothing stops us from signing with any key."""
    head = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def good_payload(**changes) -> dict:
    iat = int(T0.timestamp())
    payload = {"sub": ALICE.id, "role": "viewer", "iat": iat, "exp": iat + 600, "iss": "eyenet", "jti": "abc", "gen": 0}
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "ES256", "EdDSA"])
def test_issue_verify_round_trip(tmp_path, algorithm):
    key = KEYS[algorithm]() if algorithm != "HS256" else None
    authority = TokenAuthority.from_settings(settings(tmp_path, algorithm, key, issuer="noc.example"))
    issued = authority.issue(ALICE, 600, now=T0)
    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == algorithm
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    assert payload["sub"] == ALICE.id and payload["role"] == "operator" and payload["scope"] == ["core", "dc1"]
    assert payload["iss"] == "noc.example" and payload["exp"] - payload["iat"] == 600 and len(payload["jti"]) >= 16
    assert issued.expires_at == T0 + timedelta(seconds=600)
    claims = authority.verify(issued.token, now=T0 + timedelta(seconds=599))
    assert claims == issued.claims
    assert (claims.user_id, claims.role, claims.scope, claims.issued_at) == (ALICE.id, "operator", ("core", "dc1"), T0)
    if key is not None:
        # Anyone with the public key alone can check our tokens.
        public = key.public_key()
        assert jwt.decode(issued.token, public, algorithms=[algorithm], issuer="noc.example",
                          options={"verify_exp": False, "verify_iat": False})["sub"] == ALICE.id


def test_defaults_ttl_from_settings_and_no_empty_scope(tmp_path):
    authority = TokenAuthority.from_settings(settings(tmp_path, token_ttl=120))
    issued = authority.issue(ROOT)
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    assert "scope" not in payload and payload["exp"] - payload["iat"] == 120
    assert authority.verify(issued.token).scope == ()
    assert issued.claims.token_id != authority.issue(ROOT).claims.token_id
    assert issued.token not in repr(issued)


# -- the attack matrix ----------------------------------------------------------------------------


@pytest.fixture
def hs_server(tmp_path):
    authority = TokenAuthority.from_settings(settings(tmp_path))
    return authority, (tmp_path / "jwt.secret").read_bytes()


@pytest.fixture
def rs_server(tmp_path):
    key = KEYS["RS256"]()
    return TokenAuthority.from_settings(settings(tmp_path, "RS256", key)), key


def refused(authority, token, code="AUTH_INVALID", now=T0):
    with pytest.raises(TokenError) as info:
        authority.verify(token, now=now)
    assert info.value.code == code, info.value.message
    if isinstance(token, str) and len(token) > 3:
        assert token not in info.value.message and token not in str(info.value)
        for part in token.split("."):
            assert len(part) < 8 or part not in info.value.message
    return info.value.message


def test_alg_none_is_refused(hs_server, rs_server):
    for authority in (hs_server[0], rs_server[0]):
        unsigned = jwt.encode(good_payload(role="admin"), None, algorithm="none")
        assert "only algorithm" in refused(authority, unsigned)
        for alg in ("none", "None", "NONE"):
            head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
            refused(authority, f"{head}.{b64(json.dumps(good_payload()).encode())}.")


def test_hs256_signed_with_the_rs_public_key_is_refused(rs_server):
    """Key confusion: a verifier that let the token pick HS256 would use the public PEM as the HMAC secret."""
    authority, key = rs_server
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (public_pem, public_pem.strip()):
        assert "RS256" in refused(authority, hs256(good_payload(role="admin"), secret))


@pytest.mark.filterwarnings("ignore:The HMAC key is 32 bytes long")
def test_other_algorithms_than_the_configured_one_are_refused(hs_server):
    authority, _ = hs_server
    key = KEYS["ES256"]()
    refused(authority, jwt.encode(good_payload(), key, algorithm="ES256"))
    # HS512 with the right secret: still not the configured algorithm.
    refused(authority, jwt.encode(good_payload(), hs_server[1], algorithm="HS512"))


def test_bad_signature_and_tampered_payload(hs_server, rs_server):
    authority, secret = hs_server
    assert "signature" in refused(authority, hs256(good_payload(), os.urandom(32)))
    refused(rs_server[0], jwt.encode(good_payload(), KEYS["RS256"](), algorithm="RS256"))
    for server in (authority, rs_server[0]):
        token = server.issue(ALICE, 600, now=T0).token
        head, body, sig = token.split(".")
        payload = json.loads(unb64(body))
        payload["role"] = "admin"
        payload.pop("scope")
        assert "signature" in refused(server, f"{head}.{b64(json.dumps(payload).encode())}.{sig}")
        refused(server, f"{head}.{body}.{sig[:-4]}AAAA")
        refused(server, f"{head}.{body}.")


def test_expired_with_and_without_clock_skew(tmp_path):
    authority = TokenAuthority.from_settings(settings(tmp_path))
    token = authority.issue(ALICE, 60, now=T0).token
    authority.verify(token, now=T0 + timedelta(seconds=59))
    message = refused(authority, token, "TOKEN_EXPIRED", now=T0 + timedelta(seconds=60))
    assert "2030-01-02T03:05:05+00:00" in message
    refused(authority, token, "TOKEN_EXPIRED", now=T0 + timedelta(days=1))
    lenient = TokenAuthority.from_settings(settings(tmp_path, clock_skew=30))
    lenient.verify(token, now=T0 + timedelta(seconds=89))
    refused(lenient, token, "TOKEN_EXPIRED", now=T0 + timedelta(seconds=90))


def test_nbf_and_lifetime(hs_server, tmp_path):
    authority, secret = hs_server
    now = int(T0.timestamp())
    assert authority.verify(jwt.encode(good_payload(nbf=now), secret, algorithm="HS256"), now=T0).user_id == ALICE.id
    assert authority.verify(jwt.encode(good_payload(exp=now + 86400), secret, algorithm="HS256"), now=T0).generation == 0
    with pytest.raises(ValueError, match="max_token_lifetime"):
        authority.issue(ALICE, 86401)
    short = TokenAuthority.from_settings(settings(tmp_path, max_token_lifetime=300, token_ttl=300))
    assert "max_token_lifetime (300 seconds)" in refused(short, authority.issue(ALICE, 600, now=T0).token)


def test_issued_in_the_future_is_refused(hs_server):
    authority, _ = hs_server
    token = authority.issue(ALICE, 600, now=T0 + timedelta(seconds=5)).token
    assert "future" in refused(authority, token, now=T0)


@pytest.mark.parametrize(
    "changes,needle",
    [
        ({"exp": None}, "'exp'"),
        ({"sub": None}, "'sub'"),
        ({"role": None}, "'role'"),
        ({"iat": None}, "'iat'"),
        ({"jti": None}, "'jti'"),
        ({"iss": None}, "'iss'"),
        ({"iss": "someone-else"}, "not issued by 'eyenet'"),
        ({"role": "root"}, "unknown role"),
        ({"role": ["admin"]}, "unknown role"),
        ({"sub": 42}, "'sub'"),
        ({"sub": ""}, "'sub'"),
        ({"exp": "2099-01-01"}, "'exp'"),
        ({"exp": True}, "'exp'"),
        ({"exp": 1e300}, "out of range"),
        ({"scope": "core"}, "'scope'"),
        ({"scope": [1]}, "'scope'"),
        ({"jti": 7}, "'jti'"),
        ({"gen": None}, "'gen'"),
        ({"gen": -1}, "'gen'"),
        ({"gen": "3"}, "'gen'"),
        ({"gen": True}, "'gen'"),
        ({"nbf": "soon"}, "'nbf'"),
        ({"nbf": int(T0.timestamp()) + 60}, "not valid yet"),
        ({"exp": int(T0.timestamp()) + 86401}, "max_token_lifetime (86400 seconds)"),
    ],
)
def test_signed_but_wrong_claims_are_refused(hs_server, changes, needle):
    authority, secret = hs_server
    assert needle in refused(authority, jwt.encode(good_payload(**changes), secret, algorithm="HS256"))


@pytest.mark.parametrize(
    "token",
    [
        "", "garbage", "a.b.c", "..", "a.b", "a.b.c.d.e", "eyJhbGciOiJIUzI1NiJ9.%%%.abc",
        b64(b"[1,2]") + "." + b64(b"{}") + ".",
        b64(b'{"alg":["HS256"]}') + "." + b64(b"{}") + ".",
        b64(b'{"typ":"JWT"}') + "." + b64(b"{}") + ".",
        b64(b'{"alg":"HS256"}') + "." + b64(b"not json") + "." + b64(b"x" * 32),
        b64(b'{"alg":"HS256"}') + "." + b64(b"[]") + "." + b64(b"x" * 32),
        "x" * 10_000, None, 42, b"bytes.are.not", {"token": "x"},
    ],
)
def test_garbage_is_refused(hs_server, token):
    refused(hs_server[0], token)


def test_a_token_from_another_server_is_refused(tmp_path, hs_server):
    (tmp_path / "other").mkdir()
    other = TokenAuthority.from_settings(settings(tmp_path / "other"))
    refused(hs_server[0], other.issue(ALICE, 600, now=T0).token)


# -- the secret file and key files ----------------------------------------------------------------


def test_secret_file_is_0600_and_survives_restarts(tmp_path):
    old = os.umask(0o022)
    try:
        first = TokenAuthority.from_settings(settings(tmp_path))
    finally:
        os.umask(old)
    st = (tmp_path / "jwt.secret").stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jwt.secret"]  # no temporary left behind
    issued = first.issue(ALICE, 600, now=T0)
    again = TokenAuthority.from_settings(settings(tmp_path))
    assert again.verify(issued.token, now=T0) == issued.claims
    assert again.event_key(issued.claims) == first.event_key(issued.claims)
    assert (tmp_path / "jwt.secret").read_bytes() == load_secret(str(tmp_path / "jwt.secret"))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
def test_a_secret_others_may_access_is_refused(tmp_path, mode):
    TokenAuthority.from_settings(settings(tmp_path))
    (tmp_path / "jwt.secret").chmod(mode)
    with pytest.raises(KeyFileError) as info:
        TokenAuthority.from_settings(settings(tmp_path))
    assert str(info.value) == (
        f"auth.secret_file: {tmp_path / 'jwt.secret'}: group or others may access it (mode {mode:04o}): "
        f"run chmod 600 {tmp_path / 'jwt.secret'}"
    )


def test_a_short_secret_and_a_missing_directory_are_refused(tmp_path):
    path = tmp_path / "jwt.secret"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"short")
    os.close(fd)
    with pytest.raises(KeyFileError, match="holds 5 bytes, at least 32"):
        TokenAuthority.from_settings(settings(tmp_path))
    with pytest.raises(KeyFileError, match="cannot create: No such file or directory"):
        TokenAuthority.from_settings(settings(tmp_path / "nowhere"))


def test_an_operator_supplied_secret_is_used_as_is(tmp_path):
    path = tmp_path / "jwt.secret"
    secret = b"0123456789abcdef0123456789abcdef-shared-by-two-instances\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o400)
    os.write(fd, secret)
    os.close(fd)
    authority = TokenAuthority.from_settings(settings(tmp_path))
    token = authority.issue(ALICE, 600, now=T0).token
    options = {"verify_exp": False, "verify_iat": False}
    assert jwt.decode(token, secret, algorithms=["HS256"], options=options)["sub"] == ALICE.id


def test_key_files_are_checked_against_the_algorithm(tmp_path):
    rsa_key, ec_key = KEYS["RS256"](), KEYS["ES256"]()
    with pytest.raises(KeyFileError, match="auth.private_key: .*key.pem: is not a P-256"):
        TokenAuthority.from_settings(settings(tmp_path, "ES256", rsa_key))
    with pytest.raises(KeyFileError, match="is not an RSA key"):
        TokenAuthority.from_settings(settings(tmp_path, "RS256", ec_key))
    with pytest.raises(KeyFileError, match="is not an Ed25519 or Ed448 key"):
        TokenAuthority.from_settings(settings(tmp_path, "EdDSA", ec_key))
    with pytest.raises(KeyFileError, match="is not a P-256"):
        TokenAuthority.from_settings(settings(tmp_path, "ES256", ec.generate_private_key(ec.SECP384R1())))
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(KeyFileError, match="1024-bit RSA key: use at least 2048"):
        TokenAuthority.from_settings(settings(tmp_path, "RS256", weak))
    # A public key from another pair.
    s = AuthSettings(
        algorithm="RS256", secret_file=str(tmp_path / "jwt.secret"),
        private_key=write_private(tmp_path / "a.pem", rsa_key), public_key=write_public(tmp_path / "b.pub", KEYS["RS256"]()),
    )
    with pytest.raises(KeyFileError, match=r"auth.public_key: .*b.pub: does not belong to the private key"):
        TokenAuthority.from_settings(s)
    # The public key is optional: derived from the private one.
    s = AuthSettings(algorithm="RS256", secret_file=str(tmp_path / "jwt.secret"), private_key=str(tmp_path / "a.pem"))
    authority = TokenAuthority.from_settings(s)
    authority.verify(authority.issue(ALICE).token)


def test_unusable_private_keys(tmp_path):
    key = KEYS["EdDSA"]()
    loose = AuthSettings(algorithm="EdDSA", secret_file=str(tmp_path / "jwt.secret"),
                         private_key=write_private(tmp_path / "k.pem", key, mode=0o644))
    with pytest.raises(KeyFileError, match=r"k.pem: group or others may access it \(mode 0644\)"):
        TokenAuthority.from_settings(loose)
    locked = AuthSettings(algorithm="EdDSA", secret_file=str(tmp_path / "jwt.secret"),
                          private_key=write_private(tmp_path / "e.pem", key, password=b"pass"))
    with pytest.raises(KeyFileError, match="is encrypted"):
        TokenAuthority.from_settings(locked)
    (tmp_path / "junk.pem").write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    (tmp_path / "junk.pem").chmod(0o600)
    junk = AuthSettings(algorithm="EdDSA", secret_file=str(tmp_path / "jwt.secret"), private_key=str(tmp_path / "junk.pem"))
    with pytest.raises(KeyFileError, match="is not a PEM private key"):
        TokenAuthority.from_settings(junk)
    missing = AuthSettings(algorithm="EdDSA", secret_file=str(tmp_path / "jwt.secret"), private_key=str(tmp_path / "no.pem"))
    with pytest.raises(KeyFileError, match="no.pem: does not exist"):
        TokenAuthority.from_settings(missing)
    assert check_settings(missing) == [f"auth.private_key: {tmp_path / 'no.pem'}: does not exist"]


# -- event keys and JWE -------------------------------------------------------------------------


def test_event_keys_are_per_token_and_decrypt_with_jwcrypto(tmp_path):
    authority = TokenAuthority.from_settings(settings(tmp_path))
    a, b = authority.issue(ALICE, 600, now=T0), authority.issue(ALICE, 600, now=T0)
    key = authority.event_key(a.claims)
    assert len(key) == 32 and key != authority.event_key(b.claims)
    assert key == authority.event_key(authority.verify(a.token, now=T0))
    encoded = authority.event_key_b64(a.claims)
    assert "=" not in encoded and unb64(encoded) == key
    # The event key is not the signing secret.
    assert key != (tmp_path / "jwt.secret").read_bytes()

    plaintext = json.dumps({"deviceId": "core-1", "metrics": {"cpu": 45.2}}).encode()
    compact = jwe_encrypt(key, plaintext)
    head, encrypted_key, iv, ciphertext, tag = compact.split(".")
    assert json.loads(unb64(head)) == {"alg": "dir", "enc": "A256GCM"}
    assert encrypted_key == "" and len(unb64(iv)) == 12 and len(unb64(tag)) == 16
    assert compact != jwe_encrypt(key, plaintext)  # a fresh IV each time

    token = jwcrypto_jwe.JWE()
    token.deserialize(compact, key=jwcrypto_jwk.JWK(kty="oct", k=encoded))
    assert token.payload == plaintext
    assert token.jose_header == {"alg": "dir", "enc": "A256GCM"}

    flipped = b64(bytes([unb64(ciphertext)[0] ^ 1]) + unb64(ciphertext)[1:])
    other_header = b64(b'{"alg":"dir","enc":"A256GCM","x":1}')
    for bad in (
        f"{head}..{iv}.{flipped}.{tag}",
        f"{other_header}..{iv}.{ciphertext}.{tag}",  # the header is the AAD
    ):
        with pytest.raises(Exception):
            jwcrypto_jwe.JWE().deserialize(bad, key=jwcrypto_jwk.JWK(kty="oct", k=encoded))
    with pytest.raises(Exception):
        jwcrypto_jwe.JWE().deserialize(compact, key=jwcrypto_jwk.JWK(kty="oct", k=authority.event_key_b64(b.claims)))


def test_jwe_rejects_a_key_of_the_wrong_size():
    with pytest.raises(ValueError, match="32-byte key"):
        jwe_encrypt(b"k" * 16, b"x")
    assert jwe_encrypt(b"k" * 32, b"").count(".") == 4


# -- [auth] configuration -----------------------------------------------------------------------


def test_auth_settings_defaults_and_paths(tmp_path):
    conf = str(tmp_path / "eyenet.toml")
    assert parse_config({}, conf).token_settings == AuthSettings(secret_file="jwt.secret")
    config = parse_config({"store": {"path": "data/eyenet.db"}}, conf)
    assert config.token_settings.secret_file == str(tmp_path / "data" / "jwt.secret")
    config = parse_config(
        {"auth": {"algorithm": "ES256", "private_key": "keys/k.pem", "public_key": "/etc/k.pub", "secret_file": "s",
                  "issuer": "noc", "token_ttl": 900, "clock_skew": 5}},
        conf,
    )
    assert config.auth == AuthSettings(
        issuer="noc", token_ttl=900, algorithm="ES256", secret_file=str(tmp_path / "s"),
        private_key=str(tmp_path / "keys" / "k.pem"), public_key="/etc/k.pub", clock_skew=5,
    )


def test_auth_settings_errors_name_file_key_and_reason():
    with pytest.raises(ConfigError) as info:
        parse_config(
            {"auth": {"issuer": "", "token_ttl": 0, "algorithm": "HS512", "clock_skew": -1, "colour": 1, "secret_file": 3}},
            "/etc/eyenet.toml",
        )
    assert info.value.problems == [  # in the order of the file
        "/etc/eyenet.toml: auth.issuer: must not be empty",
        "/etc/eyenet.toml: auth.token_ttl: must be greater than 0 seconds",
        "/etc/eyenet.toml: auth.algorithm: must be one of HS256, RS256, ES256, EdDSA, not 'HS512'",
        "/etc/eyenet.toml: auth.clock_skew: must be 0 or more seconds",
        "/etc/eyenet.toml: auth.colour: unknown key (expected one of: address_free_failures, algorithm, clock_skew, "
        "hash_concurrency, issuer, login_free_failures, login_max_wait, max_token_lifetime, private_key, public_key, "
        "secret_file, token_ttl)",
        "/etc/eyenet.toml: auth.secret_file: must be str, not int 3",
    ]
    with pytest.raises(ConfigError) as info:
        parse_config({"auth": {"token_ttl": 7200, "max_token_lifetime": 3600}}, "/c.toml")
    assert info.value.problems == [
        "/c.toml: auth.token_ttl: is longer than auth.max_token_lifetime (3600 seconds): tokens would be refused",
    ]
    with pytest.raises(ConfigError) as info:
        parse_config({"auth": {"algorithm": "RS256"}}, "/c.toml")
    assert info.value.problems == ["/c.toml: auth.private_key: is required with auth.algorithm = 'RS256' (a PEM file)"]
    with pytest.raises(ConfigError) as info:
        parse_config({"auth": {"private_key": "k.pem", "token_ttl": 1.5}}, "/c.toml")
    assert info.value.problems == [
        "/c.toml: auth.token_ttl: must be int, not float 1.5",
        "/c.toml: auth.private_key: is only used with RS256, ES256 or EdDSA (auth.algorithm is HS256)",
    ]


def test_check_config_reports_key_and_secret_problems(tmp_path, capsys):
    conf = tmp_path / "eyenet.toml"
    conf.write_text('[store]\npath = "eyenet.db"\n\n[auth]\nalgorithm = "RS256"\nprivate_key = "k.pem"\n')
    write_private(tmp_path / "k.pem", KEYS["ES256"]())
    secret = tmp_path / "jwt.secret"
    secret.write_bytes(os.urandom(32))
    secret.chmod(0o644)
    assert main(["check-config", str(conf)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"eyenet: {conf}: auth.secret_file: {secret}: group or others may access it (mode 0644): run chmod 600 {secret}",
        f"{conf}: auth.private_key: {tmp_path / 'k.pem'}: is not an RSA key (auth.algorithm RS256 needs one)",
    ]
    secret.chmod(0o600)
    write_private(tmp_path / "k.pem", KEYS["RS256"]())
    assert main(["check-config", str(conf)]) == 0
    secret.unlink()
    assert main(["check-config", str(conf)]) == 0  # made at first start
    assert not secret.exists()
