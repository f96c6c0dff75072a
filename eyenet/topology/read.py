"""Neighbour discovery's I/O: the few concurrent walks and GETs that feed `parse_neighbours`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from eyenet.collect.interfaces import InterfaceReading
from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.rows import Index, Rows
from eyenet.snmp.table import GET_BATCH, TableReader, snmp_nursery
from eyenet.snmp.values import Oid
from eyenet.topology.neighbours import (
    CDP_COLUMNS,
    IF_DESCR,
    IF_NAME,
    IP_AD_ENT_ADDR,
    IP_ADDRESS_IF_INDEX,
    LLDP_INDEX_LENGTHS,
    LLDP_LOC_PORT_DESC,
    LLDP_LOC_PORT_ID,
    LLDP_OTHERS,
    LLDP_V1,
    MTXR_NEIGHBOR_INTERFACE_ID,
    MTXR_NEIGHBOR_IP_ADDRESS,
    SCALARS,
    TPLINK_COLUMNS,
    DeviceNeighbours,
    Ports,
    parse_neighbours,
    row_indexes,
)

# -- I/O ----------------------------------------------------------------------------


async def read_neighbours(
    client: SnmpClient, target: Target, *, interfaces: Iterable[InterfaceReading] | None = None
) -> DeviceNeighbours:
    """Read a device's neighbours and identity. Raises SnmpError (SnmpTimeout: no answer)
    only when the scalars cannot be read; an agent without some MIB gives nothing for it.

    interfaces: the device's InterfaceReadings from a poll (eyenet.collect), so that no
    IF-MIB column is read again. Without them, ifName/ifDescr are read only for the
    interfaces neighbours are on, and walked whole only when the device numbers its LLDP
    ports otherwise than by ifIndex (the names must then be looked up)."""
    reader = TableReader(client, target)
    scalars: dict[Oid, Any] = {}
    columns: dict[Oid, dict[Index, Any]] = {}

    async def get_scalars() -> None:
        scalars.update(await reader.get_many(SCALARS, required=True))

    # 1. Scalars, the remote tables, the device's addresses: four request streams at once.
    #    LLDP-V2-MIB's and vendors' remote columns ride with LLDP-MIB's (no request more when
    #    the agent has none): some agents keep their neighbours only there (PAN-OS in V2,
    #    with no V2 scalars; SR OS in TIMETRA-LLDP-MIB; TP-Link in its own table).
    async with snmp_nursery() as nursery:
        nursery.start_soon(get_scalars)
        nursery.start_soon(
            reader.walk_columns, LLDP_V1.rem_columns + tuple(c for m in LLDP_OTHERS for c in m.rem_columns) + TPLINK_COLUMNS, columns
        )
        nursery.start_soon(reader.walk_columns, CDP_COLUMNS, columns)
        nursery.start_soon(reader.walk_columns, (IP_AD_ENT_ADDR, IP_ADDRESS_IF_INDEX), columns)

    # 2. What the rows found need: management addresses, local port table rows, RouterOS'
    #    local ports; another table's addresses only when it, not LLDP-MIB's, has the neighbours.
    v1_rows = row_indexes(columns, LLDP_V1.rem_columns)
    port_nums = sorted({(i[1],) for i in v1_rows if len(i) in LLDP_INDEX_LENGTHS})
    mikrotik = sorted(i for i in v1_rows if len(i) == 1)
    other = next((m for m in LLDP_OTHERS if row_indexes(columns, m.rem_columns)), None) if not v1_rows else None
    async with snmp_nursery() as nursery:
        if v1_rows:
            nursery.start_soon(reader.walk_into, LLDP_V1.rem_man_addr, columns)
        if port_nums:
            nursery.start_soon(reader.read_rows, {LLDP_LOC_PORT_ID: port_nums, LLDP_LOC_PORT_DESC: port_nums}, columns, None)
        if mikrotik:
            nursery.start_soon(
                reader.read_rows, {MTXR_NEIGHBOR_INTERFACE_ID: mikrotik, MTXR_NEIGHBOR_IP_ADDRESS: mikrotik}, columns, None
            )
        if other is not None:
            nursery.start_soon(reader.walk_into, other.rem_man_addr, columns)

    # 3. Local port names.
    if interfaces is not None:
        interfaces = list(interfaces)
        columns[IF_NAME] = {(i.if_index,): i.if_name for i in interfaces}
        columns[IF_DESCR] = {(i.if_index,): i.if_descr for i in interfaces}
    else:
        wanted = sorted({(n,) for n in _local_if_candidates(columns)})
        walked = False
        if wanted and 2 * len(wanted) <= GET_BATCH:
            values = await reader.get_many([column + i for column in (IF_NAME, IF_DESCR) for i in wanted])
            for column in (IF_NAME, IF_DESCR):
                columns[column] = {i: v for i in wanted if (v := values.get(column + i)) is not None}
        elif wanted:
            await reader.walk_columns((IF_NAME, IF_DESCR), columns)
            walked = True
        if not walked and Ports(columns).unmatched(n for (n,) in port_nums):
            await reader.walk_columns((IF_NAME, IF_DESCR), columns)

    return attrs.evolve(parse_neighbours(scalars, columns), problems=tuple(reader.problems))


def _local_if_candidates(columns: Mapping[Oid, Rows]) -> set[int]:
    """ifIndexes that may be neighbours' local ports: LLDP port numbers (often ifIndexes),
    RouterOS' interface ids, LLDP-V2 and CDP row indexes."""
    out = {i[1] for mib in (LLDP_V1, *LLDP_OTHERS) for i in row_indexes(columns, mib.rem_columns) if len(i) in LLDP_INDEX_LENGTHS}
    out |= {v for v in columns.get(MTXR_NEIGHBOR_INTERFACE_ID, {}).values() if type(v) is int}
    out |= {i[0] for columns_of in (CDP_COLUMNS, TPLINK_COLUMNS) for i in row_indexes(columns, columns_of) if len(i) == 2}
    return {n for n in out if 0 < n < 2**31}
