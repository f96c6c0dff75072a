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


class SnmpUsmError(SnmpError):
    """An SNMPv3 agent refused a request with a Report (RFC 3414 3.2); the message names
    the target and the user, never a password."""


class SnmpUnknownUser(SnmpUsmError):
    """usmStatsUnknownUserNames: the agent has no such user."""


class SnmpWrongDigest(SnmpUsmError):
    """usmStatsWrongDigests: the authentication password or protocol differs from the agent's."""


class SnmpDecryptionError(SnmpUsmError):
    """usmStatsDecryptionErrors: the agent could not decrypt the request."""


class SnmpUnsupportedSecurityLevel(SnmpUsmError):
    """usmStatsUnsupportedSecLevels: the user has no authentication or privacy at the agent."""


class SnmpUnknownEngineId(SnmpUsmError):
    """usmStatsUnknownEngineIDs, again after rediscovering the agent's engine id."""


class SnmpNotInTimeWindow(SnmpUsmError):
    """usmStatsNotInTimeWindows, again after taking the agent's boots and time from it."""


class SnmpUnknownContext(SnmpUsmError):
    """snmpUnknownContexts or snmpUnavailableContexts: the agent does not serve the context."""
