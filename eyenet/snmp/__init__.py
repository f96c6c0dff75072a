"""SNMP manager: a sans-io codec (ber, message) and a Trio client."""

from .errors import SnmpDecodeError, SnmpError, SnmpErrorStatus, SnmpResolveError, SnmpTimeout, SnmpWalkError
from .message import (
    BulkPdu,
    ErrorStatus,
    Message,
    MessageV3,
    Pdu,
    PduType,
    ScopedPdu,
    TrapV1Pdu,
    Version,
    decode_message,
    encode_message,
)
from .values import TAG_NAMES, Oid, Tag, VarBind, format_oid, parse_oid

__all__ = [
    "BulkPdu", "ErrorStatus", "Message", "MessageV3", "Oid", "Pdu", "PduType", "ScopedPdu", "SnmpDecodeError",
    "SnmpError", "SnmpErrorStatus", "SnmpResolveError", "SnmpTimeout", "SnmpWalkError", "TAG_NAMES", "Tag",
    "TrapV1Pdu", "VarBind", "Version", "decode_message", "encode_message", "format_oid", "parse_oid",
]

from .client import ClientStats, SnmpClient, Target  # noqa: E402  (after the codec it is built on)

__all__ += ["ClientStats", "SnmpClient", "Target"]
