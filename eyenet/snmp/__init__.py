"""SNMP manager: a sans-io codec (ber, message) and a Trio client."""

from eyenet.snmp.errors import SnmpDecodeError, SnmpError, SnmpErrorStatus, SnmpResolveError, SnmpTimeout, SnmpWalkError
from eyenet.snmp.message import (
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
from eyenet.snmp.values import TAG_NAMES, Oid, Tag, VarBind, format_oid, parse_oid

__all__ = [
    "BulkPdu", "ErrorStatus", "Message", "MessageV3", "Oid", "Pdu", "PduType", "ScopedPdu", "SnmpDecodeError",
    "SnmpError", "SnmpErrorStatus", "SnmpResolveError", "SnmpTimeout", "SnmpWalkError", "TAG_NAMES", "Tag",
    "TrapV1Pdu", "VarBind", "Version", "decode_message", "encode_message", "format_oid", "parse_oid",
]

from eyenet.snmp.client import ClientStats, SnmpClient, Target

__all__ += ["ClientStats", "SnmpClient", "Target"]
