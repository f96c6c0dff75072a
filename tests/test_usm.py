"""The USM core: RFC 3414 key vectors, keys and ciphers against pysnmp's, v3 messages round trip."""

import hashlib
import itertools

import pytest
from pyasn1.type import univ
from pysnmp.proto.secmod.rfc3414 import localkey  # first: pysnmp's eso modules import in a cycle otherwise

from pysnmp.proto.secmod.eso.priv import aes192, aes256  # isort: skip
from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
from pysnmp.proto.secmod.rfc3414.priv import des
from pysnmp.proto.secmod.rfc3826.priv import aes
from pysnmp.proto.secmod.rfc7860.auth import hmacsha2

from eyenet.snmp.errors import SnmpDecodeError, SnmpError
from eyenet.snmp.message import MessageV3, Pdu, PduType, ScopedPdu, decode_message
from eyenet.snmp.usm import (
    AUTH_PROTOCOLS,
    PRIV_PROTOCOLS,
    UsmParameters,
    UsmRejected,
    UsmUser,
    decode_parameters,
    decrypt,
    encode_parameters,
    encrypt,
    local_keys,
    localize,
    open_message,
    password_key,
    protocol_name,
    secure_message,
)
from eyenet.snmp.values import Tag, VarBind

RFC_ENGINE = bytes(11) + b"\x02"
ENGINE = bytes.fromhex("80001f888059dc4a4f3b8a5c63")
PYSNMP_ENGINE = univ.OctetString(ENGINE)

# pysnmp's service ids: auth by our name, priv by ours (Reeder: its Aes192/Aes256).
PYSNMP_AUTH = {
    "MD5": hmacmd5.HmacMd5.SERVICE_ID, "SHA": hmacsha.HmacSha.SERVICE_ID,
    "SHA-224": hmacsha2.HmacSha2.SHA224_SERVICE_ID, "SHA-256": hmacsha2.HmacSha2.SHA256_SERVICE_ID,
    "SHA-384": hmacsha2.HmacSha2.SAH384_SERVICE_ID, "SHA-512": hmacsha2.HmacSha2.SHA512_SERVICE_ID,
}
PYSNMP_PRIV = {
    "DES": des.Des, "AES": aes.Aes, "AES-192": aes192.AesBlumenthal192, "AES-256": aes256.AesBlumenthal256,
    "AES-192-C": aes192.Aes192, "AES-256-C": aes256.Aes256,
}
COMBINATIONS = list(itertools.product(AUTH_PROTOCOLS, PRIV_PROTOCOLS))


def test_rfc3414_a3_password_to_key_vectors():
    # RFC 3414 A.3.1 (MD5) and A.3.2 (SHA), password "maplesyrup".
    ku = password_key(b"maplesyrup", "md5")
    assert ku.hex() == "9faf3283884e92834ebc9847d8edd963"
    assert localize(ku, RFC_ENGINE, "md5").hex() == "526f5eed9fcce26f8964c2930787d82b"
    ku = password_key(b"maplesyrup", "sha1")
    assert ku.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert localize(ku, RFC_ENGINE, "sha1").hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_rfc7860_digest_lengths():
    # RFC 7860 4.2.2: usmHMAC128SHA224, usmHMAC192SHA256, usmHMAC256SHA384, usmHMAC384SHA512.
    assert {name: p.mac_length for name, p in AUTH_PROTOCOLS.items()} == {
        "MD5": 12, "SHA": 12, "SHA-224": 16, "SHA-256": 24, "SHA-384": 32, "SHA-512": 48,
    }


@pytest.mark.parametrize("auth_name", AUTH_PROTOCOLS)
def test_auth_keys_equal_pysnmps(auth_name):
    h = getattr(hashlib, AUTH_PROTOCOLS[auth_name].hash)
    user = UsmUser("u", "authNoPriv", auth_name, "the auth password")
    expected = localkey.localize_key(localkey.hash_passphrase(b"the auth password", h), PYSNMP_ENGINE, h)
    assert local_keys(user, ENGINE).auth == bytes(expected)


@pytest.mark.parametrize("auth_name,priv_name", COMBINATIONS)
def test_priv_keys_and_ciphers_equal_pysnmps(auth_name, priv_name):
    user = UsmUser("u", "authPriv", auth_name, "the auth password", priv_name, "the priv password")
    theirs = PYSNMP_PRIV[priv_name]()
    service = PYSNMP_AUTH[auth_name]
    expected = theirs.localize_key(service, theirs.hash_passphrase(service, b"the priv password"), PYSNMP_ENGINE)
    key = local_keys(user, ENGINE).priv
    assert key == bytes(expected)[: PRIV_PROTOCOLS[priv_name].key_length]
    for size in (200, 65, 64, 50, 16, 1):  # AES encrypts 64 bytes or fewer block by block
        plaintext = bytes(range(size))
        ciphertext, params = encrypt(user.priv, key, 7, 12345, 0x1122334455667788, plaintext)
        clear = theirs.decrypt_data(univ.OctetString(bytes(expected)), (7, 12345, univ.OctetString(params)), univ.OctetString(ciphertext))
        assert bytes(clear)[:size] == plaintext
        assert decrypt(user.priv, key, 7, 12345, params, ciphertext)[:size] == plaintext


def test_reeder_and_blumenthal_differ_where_the_hash_is_short():
    for auth_name, size in (("MD5", "192"), ("SHA", "256")):
        b = local_keys(UsmUser("u", "authPriv", auth_name, "authpass1", f"AES-{size}", "privpass1"), ENGINE).priv
        c = local_keys(UsmUser("u", "authPriv", auth_name, "authpass1", f"AES-{size}-C", "privpass1"), ENGINE).priv
        assert b[:16] == c[:16] and b != c


def test_parameters_round_trip_with_the_auth_offset():
    p = UsmParameters(ENGINE, 3, 1234567, b"admin", bytes(24), b"\x01" * 8)
    data, at = encode_parameters(p)
    assert data[at : at + 24] == bytes(24)
    assert decode_parameters(data) == (p, at)


SCOPED = ScopedPdu(ENGINE, b"ctx", Pdu(PduType.GET, 77, 0, 0, (VarBind.null((1, 3, 6, 1, 2, 1, 1, 5, 0)),)))


def _user(level: str, auth_name: str = "SHA-256", priv_name: str = "AES") -> UsmUser:
    return UsmUser("admin", level, auth_name, "auth-secret-1", priv_name, "priv-secret-1")


@pytest.mark.parametrize("auth_name,priv_name", COMBINATIONS)
def test_messages_round_trip_at_every_combination(auth_name, priv_name):
    user = _user("authPriv", auth_name, priv_name)
    data = secure_message(77, SCOPED, user, ENGINE, 5, 999, 42)
    msg = decode_message(data)
    assert isinstance(msg, MessageV3) and msg.flags == 7 and msg.scoped_pdu is None
    assert b"auth-secret" not in data and b"priv-secret" not in data
    opened = open_message(data, msg, user)
    assert opened.scoped == SCOPED and opened.parameters.boots == 5 and opened.parameters.time == 999


@pytest.mark.parametrize("level", ["noAuthNoPriv", "authNoPriv"])
def test_lower_levels_round_trip(level):
    user = _user(level)
    data = secure_message(77, SCOPED, user, ENGINE, 1, 2, 3)
    msg = decode_message(data)
    assert isinstance(msg, MessageV3) and msg.scoped_pdu == SCOPED
    assert open_message(data, msg, user).scoped == SCOPED


def test_a_changed_byte_or_another_key_fails_authentication():
    user = _user("authPriv")
    data = secure_message(77, SCOPED, user, ENGINE, 5, 999, 42)
    tampered = data[:-3] + bytes([data[-3] ^ 1]) + data[-2:]
    msg = decode_message(tampered)
    assert isinstance(msg, MessageV3)
    with pytest.raises(UsmRejected, match="wrong digest for user 'admin'"):
        open_message(tampered, msg, user)
    other = UsmUser("admin", "authPriv", "SHA-256", "another-secret", "AES", "priv-secret-1")
    msg = decode_message(data)
    assert isinstance(msg, MessageV3)
    with pytest.raises(UsmRejected):
        open_message(data, msg, other)


def test_a_wrong_privacy_key_is_rejected_not_misread():
    user = _user("authPriv", "SHA", "DES")
    data = secure_message(77, SCOPED, user, ENGINE, 5, 999, 42)
    msg = decode_message(data)
    assert isinstance(msg, MessageV3)
    wrong = UsmUser("admin", "authPriv", "SHA", "auth-secret-1", "DES", "not-the-priv-secret")
    with pytest.raises(UsmRejected, match="undecryptable"):
        open_message(data, msg, wrong)


def test_des_sizes_are_checked():
    with pytest.raises(SnmpDecodeError, match="multiple of 8"):
        decrypt(PRIV_PROTOCOLS["DES"], bytes(16), 1, 1, bytes(8), bytes(12))
    with pytest.raises(SnmpDecodeError, match="not 8"):
        decrypt(PRIV_PROTOCOLS["AES"], bytes(16), 1, 1, bytes(4), bytes(12))


def test_discovery_probe_has_no_user_and_no_flags_but_reportable():
    probe = ScopedPdu(b"", b"", Pdu(PduType.GET, 9))
    msg = decode_message(secure_message(9, probe, None, b"", 0, 0, 0))
    assert isinstance(msg, MessageV3) and msg.flags == 4
    assert decode_parameters(msg.security_parameters)[0] == UsmParameters(b"", 0, 0, b"")


def test_user_problems_name_the_key_never_the_password():
    with pytest.raises(SnmpError) as caught:
        UsmUser("ops", "authPriv", "SHA-256", "short", "AES-256", "")
    text = str(caught.value)
    assert "auth_password: is needed for authPriv, of 8 characters at least" in text
    assert "priv_password: is needed for authPriv" in text and "short" not in text
    with pytest.raises(SnmpError, match="auth_protocol: must be one of MD5, SHA, SHA-224"):
        UsmUser("ops", "authNoPriv", "SHA-1024", "longenough")
    assert "password" not in repr(UsmUser("ops", "authPriv", "SHA", "secret-auth", "AES", "secret-priv")).replace("_password", "")


def test_net_snmp_spellings():
    assert [protocol_name(p) for p in ("sha", "SHA256", "aes128", "AES192C", "AES-256-C", "des")] == [
        "SHA", "SHA-256", "AES", "AES-192-C", "AES-256-C", "DES",
    ]


def test_value_tags_stay_plain_in_the_scoped_pdu():
    pdu = Pdu(PduType.RESPONSE, 1, 0, 0, (VarBind((1, 3, 6), Tag.OCTET_STRING, b"x"),))
    user = _user("authPriv", "MD5", "AES-256-C")
    data = secure_message(1, ScopedPdu(ENGINE, b"", pdu), user, ENGINE, 1, 1, 1)
    msg = decode_message(data)
    assert isinstance(msg, MessageV3)
    assert open_message(data, msg, user).scoped.pdu == pdu


def test_aes_decryption_in_one_call_equals_a_cfb_context_at_every_length():
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    for priv_name, key in (("AES", bytes(range(16))), ("AES-256-C", bytes(range(32)))):
        for n in range(0, 70):
            ciphertext = bytes((i * 37 + n) & 0xFF for i in range(n))
            iv = (7).to_bytes(4, "big") + (12345).to_bytes(4, "big") + b"saltsalt"
            context = Cipher(algorithms.AES(key), CFB(iv)).decryptor()
            assert decrypt(PRIV_PROTOCOLS[priv_name], key, 7, 12345, b"saltsalt", ciphertext) == context.update(ciphertext) + context.finalize()
