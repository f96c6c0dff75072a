"""SnmpClient.walk_columns (several columns in shared requests) gives exactly what one
walk() per column gives: against the faulty agent (answers trimmed anywhere, tooBig,
columns that end early or are missing, loops, v1), net-snmp's snmpd and every recording.
"""

import pytest
import trio
from agents import SNMPSIM_EXACT_RECORDINGS
from faulty_agent import Faults, faulty_agent
from test_walk_real_agents import assert_between, plain

from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.errors import SnmpWalkError
from eyenet.snmp.mib import HR_STORAGE_COLUMNS, IF_COLUMNS, IF_NUMBER
from eyenet.snmp.table import by_table
from eyenet.snmp.values import Tag, VarBind

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
LA_LOAD = (1, 3, 6, 1, 4, 1, 2021, 10, 1, 3)  # UCD-SNMP-MIB laLoad


def ragged_table() -> list[VarBind]:
    """system, then ifEntry columns 1..9 of 40, 40, 39, 35, 1, 40, 40, 12 and 40 rows (column 5 is
    short, 8 shorter) and no column 10; the last column is the end of the MIB view."""
    rows = {1: 40, 2: 40, 3: 39, 4: 35, 5: 1, 6: 40, 7: 40, 8: 12, 9: 40}
    system = [VarBind(SYSTEM + (i, 0), Tag.OCTET_STRING, b"sys%d" % i) for i in range(1, 8)]
    entry = [VarBind(IF_ENTRY + (c, i), Tag.COUNTER32, 1000 * c + i) for c, n in rows.items() for i in range(1, n + 1)]
    return system + entry


TABLE = ragged_table()
# Every column, one that is not there (10), one past the end of the view, and the system group.
ROOTS = [IF_ENTRY + (c,) for c in range(1, 11)] + [(1, 3, 6, 1, 4), SYSTEM]


def under(root):
    return [vb for vb in TABLE if vb.oid[: len(root)] == root]


FAULTS = {
    "clean": Faults(),
    "trim-mid-repetition": Faults(trim_to=7),  # fewer varbinds than the columns asked: some columns get none
    "trim-to-one": Faults(trim_to=1),
    "too-big": Faults(too_big_above=3),
}


# v1 has no GETBULK, so nothing to trim or refuse: clean only.
CASES = [(fault, "2c") for fault in FAULTS] + [("clean", "1")]


@pytest.mark.parametrize("hint", [None, 40, 3, 500])
@pytest.mark.parametrize("fault, version", CASES)
async def test_columns_equal_one_walk_each(fault, version, hint):
    async with faulty_agent(TABLE, FAULTS[fault]) as agent, SnmpClient.open() as client:
        t = Target("127.0.0.1", agent.port, version=version, timeout=5, max_repetitions=25, max_repetitions_cap=100)
        with trio.fail_after(30):
            got = await client.walk_columns(t, ROOTS, hint)
    assert got == [under(root) for root in ROOTS]


async def test_shared_requests_are_fewer_and_bounded_by_the_hint():
    """10 columns of 40 rows: answers of up to 100 varbinds carry 10 rows of every column, so
    the table takes about 400 / 100 requests; the hint keeps the last ones from reading on."""
    columns = [IF_ENTRY + (c,) for c in (1, 2, 6, 7, 9)]
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        t = Target("127.0.0.1", agent.port, timeout=5, max_repetitions=100, max_repetitions_cap=100)
        got = await client.walk_columns(t, columns, max_rows=40)
    assert got == [under(c) for c in columns]
    assert agent.max_repetitions == [20, 20, 1]  # 100 varbinds / 5 columns; then the row past the end
    assert agent.requests == 3  # one walk per column: 5 requests at least


@pytest.mark.parametrize("last", [(1,), (12,), (35,), (40,), (500,)])
@pytest.mark.parametrize("fault, version", CASES)
async def test_last_row_ends_each_column_there(fault, version, last):
    """With last_row a column ends at the first row at or past it: every row up to it is there,
    nothing is missing before it, and rows past it come only from an answer that held them."""
    async with faulty_agent(TABLE, FAULTS[fault]) as agent, SnmpClient.open() as client:
        t = Target("127.0.0.1", agent.port, version=version, timeout=5, max_repetitions=25, max_repetitions_cap=100)
        with trio.fail_after(30):
            got = await client.walk_columns(t, ROOTS, 40, last)
    for root, vbs in zip(ROOTS, got):
        whole = under(root)
        assert vbs == whole[: len(vbs)], root  # a prefix of the column
        assert [vb for vb in whole if vb.oid[len(root):] <= last] == [vb for vb in vbs if vb.oid[len(root):] <= last]


async def test_known_rows_need_no_request_past_the_end():
    """The caller that knows the table ends at row 40 (the poller, from the last read of the
    interface labels) reads 5 columns of 40 rows in two requests, not three."""
    columns = [IF_ENTRY + (c,) for c in (1, 2, 6, 7, 9)]
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        t = Target("127.0.0.1", agent.port, timeout=5, max_repetitions=100, max_repetitions_cap=100)
        got = await client.walk_columns(t, columns, max_rows=40, last_row=(40,))
    assert got == [under(c) for c in columns]
    assert agent.max_repetitions == [20, 20]


async def test_a_column_that_loops_is_an_error():
    async with faulty_agent(TABLE, Faults(loop="restart", loop_after=60)) as agent, SnmpClient.open() as client:
        t = Target("127.0.0.1", agent.port, timeout=5)
        with pytest.raises(SnmpWalkError):
            await client.walk_columns(t, [IF_ENTRY + (1,), IF_ENTRY + (2,)])


# -- real agents -------------------------------------------------------------------------------

# What a device read walks side by side: IF-MIB by table, hrStorage; and a lone column.
REAL_TABLES = [*by_table(IF_COLUMNS.values()), list(HR_STORAGE_COLUMNS), [LA_LOAD]]


@pytest.mark.parametrize("version", ["2c", "1"])
async def test_snmpd_columns_equal_one_walk_each(snmpd_agent, version):
    """snmpd is live (its counters move): each column of a shared walk lies between a walk of
    that column alone before and after it."""
    async with SnmpClient.open() as client:
        t = Target(snmpd_agent.host, snmpd_agent.port, version=version, community=snmpd_agent.full_community, timeout=10)
        rows = (await client.get(t, [IF_NUMBER]))[0].value
        for columns in REAL_TABLES:
            for hint in (None, rows):
                before = [plain(await client.walk(t, c)) for c in columns]
                shared = [plain(vbs) for vbs in await client.walk_columns(t, columns, hint)]
                after = [plain(await client.walk(t, c)) for c in columns]
                assert any(before), columns  # the agent has these columns: the comparison means something
                for ours, b, a in zip(shared, before, after):
                    assert_between(ours, b, a)


V1_RECORDINGS = ("routeros_crs317", "edgeswitch_es-24-250w", "linux_icecast")  # the smallest


@pytest.mark.parametrize("version", ["2c", "1"])
async def test_recordings_columns_equal_one_walk_each(snmpsim_agent, version):
    async def compare(stem):
        t = Target(snmpsim_agent.host, snmpsim_agent.port, version=version, community=stem, timeout=10)
        for columns in REAL_TABLES:
            alone = [await client.walk(t, c) for c in columns]
            for hint in (None, len(alone[0]) or None):  # as ifNumber bounds a read of IF-MIB
                assert await client.walk_columns(t, columns, hint) == alone, (stem, columns, hint)

    # The twelve recordings snmpsim serves exactly try the shared walk on many table shapes;
    # all 49 took two and a half minutes more of a full run. v1 asks a row a request: three
    # recordings show it.
    stems = SNMPSIM_EXACT_RECORDINGS if version == "2c" else V1_RECORDINGS
    async with SnmpClient.open() as client, trio.open_nursery() as nursery:
        for stem in stems:
            nursery.start_soon(compare, stem)
