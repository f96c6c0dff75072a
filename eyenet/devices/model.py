"""A monitored device as configured: its id, address and SNMP credentials, and where it came from.

The fields' checks are declared here once, for a [[devices]] table of the configuration
file and a device body of the REST API alike."""

import re
from collections.abc import Collection

import attrs

from eyenet.snmp.message import VERSIONS
from eyenet.snmp.usm import AUTH_PROTOCOLS, LEVELS, PRIV_PROTOCOLS, UsmUser, implied_level, user_problems
from eyenet.validate import Problem, field, not_empty, port

# Anchored for JSON Schema (OpenAPI `pattern` searches); matched with fullmatch.
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _device_id(value: str) -> str | None:
    if DEVICE_ID.fullmatch(value):
        return None
    return f"{value!r} must be 1-64 letters, digits, '.', '_' or '-' (it appears in URLs)"


@attrs.frozen
class DeviceConfig:
    id: str = field(test=_device_id)
    host: str = field(test=not_empty)
    port: int = field(161, test=port("UDP"))
    version: str = field("2c", choices=tuple(VERSIONS))
    community: str = field("public", repr=False)
    # Within a second and a day: beyond, a typo polls a device flat out or never (REST says the same).
    poll_interval: float = field(60.0, ge=1, le=86400, unit=" seconds")
    tags: tuple[str, ...] = ()
    # SNMPv3 (version "3"), in net-snmp's terms. level None: authPriv when a privacy
    # password is given, else authNoPriv when an authentication password is, else noAuthNoPriv.
    user: str | None = None
    level: str | None = field(None, choices=LEVELS)
    auth_protocol: str = field("SHA", choices=tuple(AUTH_PROTOCOLS))
    auth_password: str | None = field(None, repr=False)
    priv_protocol: str = field("AES", choices=tuple(PRIV_PROTOCOLS))
    priv_password: str | None = field(None, repr=False)
    context: str = ""

    @property
    def security_level(self) -> str | None:
        """The SNMPv3 level in force (None below version 3)."""
        if self.version != "3":
            return None
        if self.level is not None:
            return self.level
        return implied_level(self.auth_password, self.priv_password)

    def usm_user(self) -> UsmUser | None:
        """The SNMPv3 user to poll as; None below version 3. device_problems() said it is whole."""
        level = self.security_level
        if level is None:
            return None
        return UsmUser(
            self.user or "", level, self.auth_protocol, self.auth_password or "", self.priv_protocol, self.priv_password or ""
        )


# What only SNMPv3 uses: set for a v1/v2c device, it is a forgotten `version = "3"`.
V3_KEYS = ("user", "level", "auth_protocol", "auth_password", "priv_protocol", "priv_password", "context")


_DEFAULTS = {a.name: a.default for a in attrs.fields(DeviceConfig)}


def device_problems(device: DeviceConfig, own_keys: Collection[str] = ()) -> list[Problem]:
    """What is wrong across a device's SNMP keys (each key alone is checked by its field).
    own_keys: those the device's table itself set (not inherited from defaults)."""
    if device.version != "3":
        return [
            Problem(k, f'is only used with version = "3" (version is {device.version!r})')
            for k in V3_KEYS
            if k in own_keys and getattr(device, k) != _DEFAULTS[k]
        ]
    if device.user is None:
        return [Problem("user", 'is required with version = "3"')]
    level = device.security_level
    assert level is not None
    return [
        Problem(key, reason)
        for key, reason in user_problems(
            device.user, level, device.auth_protocol, device.auth_password or "", device.priv_protocol, device.priv_password or ""
        )
    ]


@attrs.frozen
class StoredDevice:
    device: DeviceConfig
    source: str = "api"  # "config": from the configuration file; "api": added at run time
