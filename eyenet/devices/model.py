"""A monitored device as configured: its id, address and SNMP credentials, and where it came from."""

import re

import attrs

# Anchored for JSON Schema (OpenAPI `pattern` searches); matched with fullmatch.
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@attrs.frozen
class DeviceConfig:
    id: str
    host: str
    port: int = 161
    version: str = "2c"
    community: str = attrs.field(default="public", repr=False)
    poll_interval: float = 60.0
    tags: tuple[str, ...] = ()


@attrs.frozen
class StoredDevice:
    device: DeviceConfig
    source: str = "api"  # "config": from the configuration file; "api": added at run time
