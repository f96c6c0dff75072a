"""The errors the SNMP manager raises; every one names the target or the byte at fault."""


class SnmpError(Exception):
    """Base class of everything eyenet.snmp raises on purpose."""


class SnmpDecodeError(SnmpError):
    """A datagram is not a well-formed SNMP message (the only error the decoder raises)."""


class SnmpTimeout(SnmpError):
    """No response after the configured retries."""


class SnmpResolveError(SnmpError):
    """The target's host name does not resolve to an address."""


class SnmpErrorStatus(SnmpError):
    """The agent answered with a non-zero error-status."""

    def __init__(self, message: str, status: int, index: int):
        super().__init__(message)
        self.status = status
        self.index = index


class SnmpWalkError(SnmpError):
    """A walk cannot go on: the agent returned a non-increasing OID (a loop)."""
