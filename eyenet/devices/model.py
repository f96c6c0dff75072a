"""A monitored device as configured: its id, address and SNMP credentials, and where it came from.

The fields' checks are declared here once, for a [[devices]] table of the configuration
file and a device body of the REST API alike."""

import re

import attrs

from eyenet.snmp.message import VERSIONS
from eyenet.validate import field, not_empty, port

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


@attrs.frozen
class StoredDevice:
    device: DeviceConfig
    source: str = "api"  # "config": from the configuration file; "api": added at run time
