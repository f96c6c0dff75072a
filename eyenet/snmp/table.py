"""Reading SNMP tables from one device: columns walked side by side, instances got in
batches, and what the agent did not answer kept as the read's problems rather than raised.
Shared by the poller (collect) and neighbour discovery (topology); what the rows mean is
read by the sans-io rows.py."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import trio

from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.errors import SnmpError, SnmpErrorStatus, SnmpTimeout, SnmpWalkError
from eyenet.snmp.rows import Index, rows_of
from eyenet.snmp.values import Oid, VarBind, format_oid

GET_BATCH = 20  # instances per GET request


class TableReader:
    """Walks and gets for one device, collecting what the agent did not answer in `problems`
    (the poller's reads and neighbour discovery)."""

    def __init__(self, client: SnmpClient, target: Target):
        self.client = client
        self.target = target
        self.problems: list[str] = []

    async def walk_into(
        self, column: Oid, out: dict[Oid, dict[Index, Any]], max_rows: int | None = None, last_row: Index | None = None
    ) -> None:
        try:
            varbinds = await self.client.walk(self.target, column, max_rows, last_row)
        except (SnmpTimeout, SnmpErrorStatus, SnmpWalkError) as exc:
            self.problems.append(f"walk {format_oid(column)}: {exc}")
            varbinds = []
        out[column] = rows_of(column, varbinds)

    async def walk_columns(
        self, columns: Sequence[Oid], out: dict[Oid, dict[Index, Any]], max_rows: int | None = None, last_row: Index | None = None
    ) -> None:
        """Columns walked side by side, sharing requests. An error status fails the shared
        request for all of them, so then each is walked alone: a column the agent cannot
        serve costs only itself, as with walk_into."""
        if len(columns) == 1:
            return await self.walk_into(columns[0], out, max_rows, last_row)
        try:
            walked = await self.client.walk_columns(self.target, columns, max_rows, last_row)
        except (SnmpErrorStatus, SnmpWalkError):
            async with snmp_nursery() as nursery:
                for column in columns:
                    nursery.start_soon(self.walk_into, column, out, max_rows, last_row)
            return
        except SnmpTimeout as exc:
            self.problems.append(f"walk {', '.join(map(format_oid, columns))}: {exc}")
            walked = [[] for _ in columns]
        for column, varbinds in zip(columns, walked):
            out[column] = rows_of(column, varbinds)

    async def read_rows(self, needs: Mapping[Oid, Sequence[Index]], out: dict[Oid, dict[Index, Any]], max_rows: int | None) -> None:
        """Some rows of some columns: one GET of those instances when they fit in one, else a
        walk of the columns (several GETs would cost more than one walk)."""
        wanted = [column + index for column, rows in needs.items() for index in rows]
        if len(wanted) > GET_BATCH:
            last = max(index for rows in needs.values() for index in rows)
            return await self.walk_columns([column for column, rows in needs.items() if rows], out, max_rows, last)
        values = await self.get_many(wanted) if wanted else {}
        for column, rows in needs.items():
            out[column] = {index: v for index in rows if (v := values.get(column + index)) is not None}

    async def get_many(self, oids: Sequence[Oid], required: bool = False) -> dict[Oid, Any]:
        """Values by OID (None when the agent has no such instance). SNMPv1 agents fail a
        whole GET for one missing instance (noSuchName): then each is asked alone."""
        out: dict[Oid, Any] = {}
        for start in range(0, len(oids), GET_BATCH):
            batch = list(oids[start : start + GET_BATCH])
            try:
                out.update(_values(await self.client.get(self.target, batch)))
            except SnmpErrorStatus:
                for oid in batch:
                    try:
                        out.update(_values(await self.client.get(self.target, [oid])))
                    except SnmpErrorStatus:
                        out[oid] = None
            except SnmpTimeout as exc:
                if required:
                    raise
                self.problems.append(f"get {', '.join(map(format_oid, batch))}: {exc}")
        return out


class snmp_nursery:
    """A nursery that re-raises a lone SnmpError as itself, not inside an ExceptionGroup."""

    async def __aenter__(self) -> trio.Nursery:
        self._cm = trio.open_nursery()
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        try:
            return await self._cm.__aexit__(*exc_info)
        except BaseExceptionGroup as group:
            leaves = list(_leaves(group))
            errors = [e for e in leaves if isinstance(e, SnmpError)]
            if errors and len(errors) == len(leaves):
                raise errors[0] from None
            raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


def by_table(columns: Iterable[Oid]) -> list[list[Oid]]:
    """Columns grouped by the table entry they belong to (the OID less its last arc), in order."""
    tables: dict[Oid, list[Oid]] = {}
    for column in columns:
        tables.setdefault(column[:-1], []).append(column)
    return list(tables.values())


def _values(varbinds: Iterable[VarBind]) -> dict[Oid, Any]:
    return {tuple(vb.oid): vb.value for vb in varbinds}
