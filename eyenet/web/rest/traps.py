"""A device's traps: those stored as they came (the trap event's), newest first, by pages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import attrs
import msgspec
from msgspec import UNSET, Meta, UnsetType

from eyenet.events import SNMP_VERSIONS
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Timestamp, from_json, given

DEFAULT_TRAPS = 100
MAX_TRAPS = 1000


class TrapQuery(msgspec.Struct):
    limit: Annotated[int, Meta(ge=1, le=MAX_TRAPS, description="at most this many, newest first")] = DEFAULT_TRAPS
    before: Annotated[int, Meta(ge=1, le=2**63 - 1, description="only traps older than the one of this id: the next page")] | UnsetType = UNSET


class TrapVarBind(msgspec.Struct):
    oid: str
    type: Annotated[str, Meta(description="net-snmp's name of the value's type: INTEGER, STRING, OID, Counter32, ...")]
    value: Annotated[Any, Meta(description="a number; a dotted OID or address; for a STRING or Opaque {hex, text}, text when printable")]


class StoredTrap(msgspec.Struct, rename="camel"):
    id: Annotated[int, Meta(description="grows with each trap stored")]
    device_id: str
    trap_oid: Annotated[str, Meta(description="snmpTrapOID, dotted (a v1 Trap's as RFC 3584 translates it)")]
    version: Literal[SNMP_VERSIONS]
    inform: bool
    source: Annotated[str, Meta(description="the sender's address")]
    uptime: Annotated[int | None, Meta(description="the sender's sysUpTime, seconds")]
    timestamp: Annotated[Timestamp, Meta(description="when it was received")]
    varbinds: list[TrapVarBind]


class TrapList(msgspec.Struct, rename="camel"):
    device_id: str
    traps: list[StoredTrap]
    next: Annotated[int | None, Meta(description="`before` for the next page; null on the last")]


@attrs.frozen
class TrapRoutes:
    services: Services

    def register(self, router: Router) -> None:
        router.add("GET", "/api/devices/{id}/traps", self.traps, Operation(
            "The device's traps, newest first", "devices", "viewer", TrapList, query=TrapQuery,
            description="The traps published as `trap` events, as stored ([store] trap_days, max_traps). "
            "Those that make the device be polled at once (linkDown, linkUp, coldStart, warmStart, "
            "authenticationFailure) show in its status and alerts instead.",
        ))

    async def traps(self, call: Call) -> Response:
        monitored = self.services.visible_device(call.claims, call.params["id"])
        limit = call.query.limit
        stored = await self.services.store.traps(monitored.id, before=given(call.query.before), limit=limit)
        tz = self.services.tz
        traps = [from_json(StoredTrap, {"id": s.id, **s.trap.data(tz=tz)}) for s in stored]
        return answer(TrapList(monitored.id, traps, stored[-1].id if len(stored) == limit else None))
