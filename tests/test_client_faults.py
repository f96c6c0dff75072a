"""The Trio SNMP client against agents that misbehave in every way tests/faulty_agent.py knows.

Each test states what the client must do about one fault. Timeouts are small (0.2 s)
only where a timeout is the point; elsewhere they are generous, so a slow machine
costs time, never a failure. No test asserts on how fast anything is.
"""

import random

import pytest
import trio
from faulty_agent import Faults, Gauge, faulty_agent

from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.errors import SnmpError, SnmpErrorStatus, SnmpResolveError, SnmpTimeout, SnmpWalkError
from eyenet.snmp.message import ErrorStatus
from eyenet.snmp.values import Tag, VarBind, format_oid

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
GAP = (1, 3, 6, 1, 2, 1, 2, 1)  # between system and ifEntry: nothing there
BEYOND = (1, 3, 6, 1, 4)  # after the last entry


def make_table(salt: int = 0, columns: int = 10, rows: int = 59) -> list[VarBind]:
    """system.1-7 and an ifEntry of columns x rows. Every ifEntry varbind encodes to the same size
    (arcs < 128, 2-byte integers), so an agent's byte limit is a fixed number of varbinds."""
    system = [VarBind(SYSTEM + (i, 0), Tag.OCTET_STRING, b"sys%d-%d" % (i, salt)) for i in range(1, 8)]
    entry = [VarBind(IF_ENTRY + (c, i), Tag.INTEGER, 1000 * c + i + salt) for c in range(1, columns + 1) for i in range(1, rows + 1)]
    return system + entry


TABLE = make_table()


def under(root, table=TABLE) -> list[VarBind]:
    return [vb for vb in table if vb.oid[: len(root)] == root]


def target(agent, **kw) -> Target:
    kw.setdefault("timeout", 5.0)
    return Target("127.0.0.1", agent.port, **kw)


def fast(agent, **kw) -> Target:
    """A target whose timeouts are meant to fire."""
    return target(agent, **{"timeout": 0.2, **kw})


async def wait_for(predicate, limit: float = 5.0) -> None:
    """Until predicate() holds; `limit` only keeps a broken client from hanging the suite."""
    with trio.fail_after(limit):
        while not predicate():
            await trio.sleep(0.01)


# -- well-behaved agent: the ways a walk ends -----------------------------------------


@pytest.mark.parametrize("version", ["1", "2c"])
@pytest.mark.parametrize(
    "root, expected",
    [
        (IF_ENTRY, under(IF_ENTRY)),  # the last subtree: v2c ends on endOfMibView, v1 on noSuchName
        (SYSTEM, under(SYSTEM)),  # ends by leaving the subtree
        (GAP, []),  # empty subtree: the first answer is already outside
        (BEYOND, []),  # past the end of the view
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 3, 7), []),  # a leaf: walking it walks nothing below it
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 3), under((1, 3, 6, 1, 2, 1, 2, 2, 1, 3))),  # one column, in the middle
    ],
    ids=["ifEntry-to-end", "system", "empty", "beyond", "leaf", "one-column"],
)
async def test_walk_ends_where_the_subtree_ends(version, root, expected):
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        assert await client.walk(target(agent, version=version), root) == expected
        assert client.stats.timeouts == client.stats.malformed == client.stats.foreign == 0


async def test_v1_walk_ends_on_no_such_name():
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        assert await client.walk(target(agent, version="1"), IF_ENTRY) == under(IF_ENTRY)
    # The last request was the one past the end; the agent answered it with noSuchName.
    assert agent.log[-1].oid == TABLE[-1].oid


async def test_v2c_walk_ends_on_end_of_mib_view():
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        t = target(agent)
        assert await client.walk(t, IF_ENTRY) == under(IF_ENTRY)
        # What the walk saw last: the agent's endOfMibView.
        last = await client.get_bulk(t, [TABLE[-1].oid], max_repetitions=3)
        assert [vb.tag for vb in last] == [Tag.END_OF_MIB_VIEW]


async def test_get_of_missing_oids_v2c_gives_exception_values():
    present = SYSTEM + (1, 0)
    no_instance = SYSTEM + (1, 1)  # sysDescr exists, instance .1 does not
    no_object = (1, 3, 6, 1, 2, 1, 5, 1, 0)
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        got = await client.get(target(agent), [present, no_instance, no_object])
    assert got == [TABLE[0], VarBind(no_instance, Tag.NO_SUCH_INSTANCE, None), VarBind(no_object, Tag.NO_SUCH_OBJECT, None)]


async def test_get_of_missing_oid_v1_raises_no_such_name():
    missing = (1, 3, 6, 1, 2, 1, 5, 1, 0)
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        t = target(agent, version="1")
        with pytest.raises(SnmpErrorStatus) as info:
            await client.get(t, [SYSTEM + (1, 0), missing])
        assert await client.get(t, [SYSTEM + (1, 0)]) == [TABLE[0]]
    assert info.value.status == ErrorStatus.NO_SUCH_NAME
    assert info.value.index == 2
    assert t.name in str(info.value) and "noSuchName" in str(info.value) and format_oid(missing) in str(info.value)


async def test_get_bulk_does_not_exist_in_v1():
    async with SnmpClient.open() as client:
        with pytest.raises(SnmpError, match="GETBULK"):
            await client.get_bulk(Target("127.0.0.1", 9, version="1"), [SYSTEM])


async def test_get_next_and_get_bulk_with_non_repeaters():
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        t = target(agent)
        assert await client.get_next(t, [SYSTEM, IF_ENTRY]) == [TABLE[0], under(IF_ENTRY)[0]]
        got = await client.get_bulk(t, [SYSTEM, IF_ENTRY + (2,)], non_repeaters=1, max_repetitions=3)
    assert got == [TABLE[0], *under(IF_ENTRY + (2,))[:3]]


# -- loss --------------------------------------------------------------------------


async def test_dropped_requests_are_retried():
    async with faulty_agent(TABLE, Faults(drop_first=2)) as agent, SnmpClient.open() as client:
        assert await client.get(fast(agent, retries=2), [SYSTEM + (3, 0)]) == [TABLE[2]]
    assert agent.requests == 3 and agent.dropped == 2
    assert client.stats.requests == 1 and client.stats.sent == 3 and client.stats.responses == 1
    assert client.stats.timeouts == 0


@pytest.mark.parametrize("version", ["1", "2c"])
async def test_walk_survives_every_third_request_lost(version):
    async with faulty_agent(TABLE, Faults(drop_every=3)) as agent, SnmpClient.open() as client:
        t = fast(agent, version=version, retries=3)
        root = SYSTEM if version == "1" else IF_ENTRY
        assert await client.walk(t, root) == under(root)
    assert agent.dropped >= 1
    if version == "1":
        assert client.stats.sent > client.stats.requests  # GETNEXT retries reuse the request
    else:
        # The GETBULK walk resends as a new request (new request-id, fewer repetitions).
        assert client.stats.sent == client.stats.requests > client.stats.responses


async def test_everything_lost_is_a_timeout_naming_the_target():
    async with faulty_agent(TABLE, Faults(drop_every=1)) as agent, SnmpClient.open() as client:
        t = fast(agent, retries=1)
        with pytest.raises(SnmpTimeout) as info:
            await client.get(t, [SYSTEM + (1, 0)])
        assert client.stats.sent == 2 and client.stats.timeouts == 1
        with pytest.raises(SnmpTimeout) as walk_info:
            await client.walk(t, IF_ENTRY)
    assert t.name in str(info.value)
    assert t.name in str(walk_info.value) and format_oid(IF_ENTRY) in str(walk_info.value)
    # Each GETBULK retry asked for fewer repetitions (large answers are the ones that get lost),
    # down to one; only then do the target's retries count (1 retry: two requests of one).
    assert agent.max_repetitions == [25, 12, 6, 3, 1, 1]


# -- extra datagrams ---------------------------------------------------------------


async def test_duplicates_are_counted_and_ignored():
    async with faulty_agent(TABLE, Faults(duplicate=True)) as agent, SnmpClient.open() as client:
        t = target(agent)
        assert await client.get(t, [SYSTEM + (2, 0)]) == [TABLE[1]]
        assert await client.walk(t, IF_ENTRY) == under(IF_ENTRY)
        assert await client.walk(target(agent, version="1"), SYSTEM) == under(SYSTEM)
        await wait_for(lambda: client.stats.duplicate == agent.requests)
    assert client.stats.responses == agent.requests
    assert client.stats.foreign == client.stats.late == client.stats.timeouts == 0


async def test_wrong_request_id_is_ignored_and_the_right_answer_used():
    async with faulty_agent(TABLE, Faults(wrong_id_first=True)) as agent, SnmpClient.open() as client:
        t = target(agent)
        assert await client.get(t, [SYSTEM + (2, 0)]) == [TABLE[1]]
        assert await client.walk(t, IF_ENTRY) == under(IF_ENTRY)
    assert client.stats.foreign + client.stats.late == agent.requests
    assert client.stats.responses == agent.requests and client.stats.timeouts == 0


async def test_answer_from_another_port_is_foreign():
    async with faulty_agent(TABLE, Faults(foreign_copy=True)) as agent, SnmpClient.open() as client:
        assert await client.get(target(agent), [SYSTEM + (2, 0)]) == [TABLE[1]]
        await wait_for(lambda: client.stats.foreign == 1)
        assert client.stats.responses == 1
    async with faulty_agent(TABLE, Faults(foreign_only=True)) as agent, SnmpClient.open() as client:
        with pytest.raises(SnmpTimeout):
            await client.get(fast(agent, retries=1), [SYSTEM + (2, 0)])
        await wait_for(lambda: client.stats.foreign == 2)
        assert client.stats.responses == 0


async def test_answer_with_wrong_community_is_foreign():
    async with faulty_agent(TABLE, Faults(wrong_community_first=1)) as agent, SnmpClient.open() as client:
        assert await client.get(fast(agent, retries=1), [SYSTEM + (2, 0)]) == [TABLE[1]]
        assert client.stats.foreign == 1 and client.stats.sent == 2
    async with faulty_agent(TABLE, Faults(wrong_community_first=99)) as agent, SnmpClient.open() as client:
        with pytest.raises(SnmpTimeout):
            await client.get(fast(agent, retries=1), [SYSTEM + (2, 0)])
        await wait_for(lambda: client.stats.foreign == 2)


async def test_request_with_wrong_community_gets_no_answer():
    async with faulty_agent(TABLE, community="private") as agent, SnmpClient.open() as client:
        with pytest.raises(SnmpTimeout):
            await client.get(fast(agent, retries=0), [SYSTEM + (1, 0)])
        assert agent.bad_community == 1
        assert await client.get(target(agent, community="private"), [SYSTEM + (1, 0)]) == [TABLE[0]]


# -- malformed datagrams -------------------------------------------------------------


async def test_garbage_before_the_answer_is_malformed_and_skipped():
    async with faulty_agent(TABLE, Faults(garbage_before=3)) as agent, SnmpClient.open() as client:
        assert await client.get(target(agent), [SYSTEM + (4, 0)]) == [TABLE[3]]
        assert client.stats.malformed == 3 and client.stats.sent == 1
        assert await client.walk(target(agent), SYSTEM) == under(SYSTEM)


async def test_garbage_instead_of_the_answer_is_retried():
    async with faulty_agent(TABLE, Faults(garbage_instead_first=1)) as agent, SnmpClient.open() as client:
        assert await client.get(fast(agent, retries=1), [SYSTEM + (4, 0)]) == [TABLE[3]]
        assert client.stats.malformed == 1 and client.stats.sent == 2
    async with faulty_agent(TABLE, Faults(garbage_instead_first=99)) as agent, SnmpClient.open() as client:
        with pytest.raises(SnmpTimeout):
            await client.get(fast(agent, retries=1), [SYSTEM + (4, 0)])
        await wait_for(lambda: client.stats.malformed == 2)


@pytest.mark.parametrize("version", ["1", "2c"])
async def test_truncated_answer_is_malformed_and_retried(version):
    async with faulty_agent(TABLE, Faults(truncate_first=1)) as agent, SnmpClient.open() as client:
        t = fast(agent, version=version, retries=1)
        assert await client.walk(t, SYSTEM) == under(SYSTEM)
        assert client.stats.malformed == 1 and client.stats.timeouts == (1 if version == "2c" else 0)


async def test_only_truncated_answers_is_a_timeout():
    async with faulty_agent(TABLE, Faults(truncate_first=99)) as agent, SnmpClient.open() as client:
        with pytest.raises(SnmpTimeout):
            await client.get(fast(agent, retries=2), [SYSTEM + (1, 0)])
        await wait_for(lambda: client.stats.malformed == 3)
        assert client.stats.responses == 0


# -- slow agents -------------------------------------------------------------------


async def test_late_answer_is_counted_late_and_never_given_to_another_request():
    # Request 1 is answered after 0.4 s, long after its 0.15 s timeout; request 2, sent right
    # after that timeout, is answered 0.4 s after it, so the late answer lands while it waits.
    async with faulty_agent(TABLE, Faults(delay=0.4)) as agent, SnmpClient.open() as client:
        with pytest.raises(SnmpTimeout):
            await client.get(target(agent, timeout=0.15, retries=0), [SYSTEM + (1, 0)])
        assert await client.get(target(agent, timeout=5.0), [SYSTEM + (5, 0)]) == [TABLE[4]]
        await wait_for(lambda: client.stats.late == 1)
        assert client.stats.responses == 1 and client.stats.foreign == client.stats.duplicate == 0


async def test_slow_answer_to_a_first_try_is_taken_during_the_retry():
    # A retry resends the same request-id, so the first try's late answer is the answer.
    async with faulty_agent(TABLE, Faults(delay=lambda n: 0.3 if n == 1 else 5.0)) as agent, SnmpClient.open() as client:
        assert await client.get(target(agent, timeout=0.2, retries=5), [SYSTEM + (6, 0)]) == [TABLE[5]]
        assert client.stats.responses == 1 and client.stats.timeouts == 0 and client.stats.sent >= 2


async def test_timeout_during_walk_shrinks_the_request():
    async with faulty_agent(TABLE, Faults(delay=lambda n: 0.5 if n == 1 else 0.0)) as agent, SnmpClient.open() as client:
        t = target(agent, timeout=0.2, retries=2)
        assert await client.walk(t, IF_ENTRY) == under(IF_ENTRY)
        await wait_for(lambda: client.stats.late == 1)
    assert agent.max_repetitions[:2] == [25, 12]


# -- broken agents -----------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2c"])
@pytest.mark.parametrize(
    "loop, loop_after, root",
    [
        ("repeat", 30, IF_ENTRY),  # the same OID again
        ("restart", 30, IF_ENTRY),  # back to the table's start, which lies before root
        ("restart", 3, (1, 3, 6, 1, 2, 1)),  # back to the table's start, inside root
        ("repeat", 0, SYSTEM),  # the very first answer is the OID asked for
    ],
    ids=["repeat", "restart-before-root", "restart-inside-root", "repeat-root"],
)
async def test_looping_agent_is_a_walk_error(version, loop, loop_after, root):
    async with faulty_agent(TABLE, Faults(loop=loop, loop_after=loop_after)) as agent, SnmpClient.open() as client:
        t = target(agent, version=version)
        with pytest.raises(SnmpWalkError) as info:
            await client.walk(t, root)
    message = str(info.value)
    assert t.name in message and "loops" in message
    bad = TABLE[0].oid if loop == "restart" else TABLE[loop_after - 1].oid if loop_after else root
    assert format_oid(bad) in message


async def test_too_big_above_a_limit_is_learned():
    limit = 10
    async with faulty_agent(TABLE, Faults(too_big_above=limit)) as agent, SnmpClient.open() as client:
        t = target(agent)
        assert await client.walk(t, IF_ENTRY) == under(IF_ENTRY)
        tuner = client.tuner(t)
        # The tuner learned a ceiling (above the limit: it only knows what failed) and keeps under it.
        assert tuner.ceiling is not None and limit <= tuner.ceiling < 25
        assert tuner.size <= tuner.ceiling
        # Once a size drew tooBig, it is never asked again, nor anything larger.
        refused = [entry.max_repetitions for entry in agent.log if entry.outcome == "tooBig"]
        assert refused and refused[0] == 25
        for i, entry in enumerate(agent.log):
            if entry.outcome == "tooBig":
                assert all(later.max_repetitions < entry.max_repetitions for later in agent.log[i + 1 :])
        # A second walk asks nothing above the ceiling, so draws no tooBig at all.
        before, asked = agent.too_big, len(agent.max_repetitions)
        assert await client.walk(t, IF_ENTRY) == under(IF_ENTRY)
        assert agent.too_big == before
        assert max(agent.max_repetitions[asked:]) <= tuner.ceiling


async def test_too_big_always_is_an_error_status():
    async with faulty_agent(TABLE, Faults(too_big_always=True)) as agent, SnmpClient.open() as client:
        t = target(agent)
        with pytest.raises(SnmpErrorStatus) as info:
            await client.walk(t, IF_ENTRY)
        with pytest.raises(SnmpErrorStatus):
            await client.get(t, [SYSTEM + (1, 0)])
    assert info.value.status == ErrorStatus.TOO_BIG
    assert t.name in str(info.value) and format_oid(IF_ENTRY) in str(info.value)
    # Halved down to a single repetition before giving up.
    assert agent.max_repetitions == [25, 12, 6, 3, 1]


async def test_trimmed_answers_teach_the_size():
    keep = 10
    async with faulty_agent(TABLE, Faults(trim_to=keep)) as agent, SnmpClient.open() as client:
        t = target(agent)
        assert await client.walk(t, IF_ENTRY) == under(IF_ENTRY)
        tuner = client.tuner(t)
    assert agent.trimmed == 1  # learned from the first trimmed answer
    assert tuner.size_limit is not None and 1 <= tuner.size <= keep
    assert agent.max_repetitions[0] == 25 and max(agent.max_repetitions[1:]) <= keep


async def test_tuner_grows_to_its_cap_and_never_beyond():
    big = make_table(columns=20, rows=100)
    async with faulty_agent(big) as agent, SnmpClient.open() as client:
        t = target(agent)  # a fast agent: answers come well within a quarter of the timeout
        assert await client.walk(t, IF_ENTRY) == under(IF_ENTRY, big)
        seen = agent.max_repetitions
        assert seen[0] == 25 and seen == sorted(seen) and max(seen) == 100
        assert client.tuner(t).size == 100
        # Another tuner ("localhost" is another key), starting small under a lower cap.
        capped = Target("localhost", agent.port, timeout=5.0, max_repetitions=5, max_repetitions_cap=40)
        del seen[:]
        assert await client.walk(capped, IF_ENTRY) == under(IF_ENTRY, big)
        assert seen[0] == 5 and max(seen) == 40


# -- addresses ---------------------------------------------------------------------


async def test_ipv6_target():
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        if not agent.has_ipv6:
            pytest.skip("no ::1 on this host")
        for version in ("1", "2c"):
            t = Target("::1", agent.port, version=version, timeout=5.0)
            assert t.name == f"[::1]:{agent.port}"
            assert await client.walk(t, SYSTEM) == under(SYSTEM)
        assert await client.get(t, [SYSTEM + (1, 0)]) == [TABLE[0]]


async def test_localhost_by_name():
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        t = Target("localhost", agent.port, timeout=5.0)
        assert await client.get(t, [SYSTEM + (1, 0)]) == [TABLE[0]]
        assert await client.walk(t, SYSTEM) == under(SYSTEM)


async def test_unknown_host_is_a_resolve_error():
    async with SnmpClient.open() as client:
        t = Target("no-such-host.invalid", 161, timeout=0.2)
        with pytest.raises(SnmpResolveError) as info:
            await client.get(t, [SYSTEM + (1, 0)])
        with pytest.raises(SnmpResolveError):
            await client.walk(t, SYSTEM)
    assert "no-such-host.invalid" in str(info.value)


# -- many at once ------------------------------------------------------------------


async def test_many_concurrent_requests_to_several_agents_never_mix():
    tables = [make_table(salt=100 * k, columns=4, rows=30) for k in range(3)]
    faults = [
        Faults(duplicate=True, delay=lambda n: random.uniform(0, 0.005)),
        Faults(wrong_id_first=True, garbage_before=1, delay=lambda n: random.uniform(0, 0.005)),
        Faults(foreign_copy=True, trim_to=7, delay=lambda n: random.uniform(0, 0.005)),
    ]
    gauge = Gauge()
    rng = random.Random(1)
    async with (
        faulty_agent(tables[0], faults[0], gauge=gauge) as a0,
        faulty_agent(tables[1], faults[1], gauge=gauge) as a1,
        faulty_agent(tables[2], faults[2], gauge=gauge) as a2,
        SnmpClient.open(max_in_flight=4) as client,
    ):
        agents = [a0, a1, a2]
        checked = 0

        async def one(k: int, kind: str, version: str) -> None:
            nonlocal checked
            t = target(agents[k], version=version)
            table = tables[k]
            if kind == "walk":
                root = rng.choice([SYSTEM, IF_ENTRY, IF_ENTRY + (2,), GAP])
                assert await client.walk(t, root) == under(root, table)
            elif kind == "get":
                picks = rng.sample(table, 3)
                assert await client.get(t, [vb.oid for vb in picks]) == picks
            else:
                i = rng.randrange(len(table) - 1)
                assert await client.get_next(t, [table[i].oid]) == [table[i + 1]]
            checked += 1

        async with trio.open_nursery() as nursery:
            for _ in range(90):
                nursery.start_soon(one, rng.randrange(3), rng.choice(["walk", "get", "next"]), rng.choice(["1", "2c"]))
        assert checked == 90
    assert gauge.peak <= 4  # never more than max_in_flight outstanding, across all agents
    assert client.stats.timeouts == 0
    assert client.stats.responses == sum(a.requests for a in agents)


# -- credentials -------------------------------------------------------------------


async def test_community_never_appears_in_errors_or_repr():
    secret = "Xy-secret-community-42"
    caught: list[BaseException] = []

    async def expect_error(coro):
        try:
            await coro
        except SnmpError as exc:
            caught.append(exc)
        else:
            raise AssertionError("expected an SnmpError")

    async with SnmpClient.open() as client:
        async with faulty_agent(TABLE, Faults(drop_every=1), community=secret) as agent:
            await expect_error(client.get(fast(agent, community=secret, retries=0), [SYSTEM + (1, 0)]))
            await expect_error(client.walk(fast(agent, community=secret, retries=0), SYSTEM))
        async with faulty_agent(TABLE, Faults(loop="repeat"), community=secret) as agent:
            await expect_error(client.walk(target(agent, community=secret), SYSTEM))
            await expect_error(client.walk(target(agent, community=secret, version="1"), SYSTEM))
        async with faulty_agent(TABLE, Faults(too_big_always=True), community=secret) as agent:
            await expect_error(client.walk(target(agent, community=secret), SYSTEM))
            await expect_error(client.get(target(agent, community=secret), [SYSTEM + (1, 0)]))
        async with faulty_agent(TABLE, community=secret) as agent:
            await expect_error(client.get(target(agent, community=secret, version="1"), [GAP]))
            await expect_error(client.get_bulk(target(agent, community=secret, version="1"), [GAP]))
            await expect_error(client.get(fast(agent, community="wrong-" + secret, retries=0), [GAP]))
        await expect_error(client.get(Target("no-such-host.invalid", community=secret), [GAP]))
        t = Target("127.0.0.1", 161, community=secret)
    assert len(caught) == 10
    for exc in caught:
        for text in (str(exc), repr(exc), repr(exc.args)):
            assert secret not in text
    assert secret not in repr(t) and secret not in str(t) and secret not in t.name


@pytest.mark.parametrize("hint", [59, 3, 500])
async def test_a_row_hint_bounds_requests_without_losing_rows(hint):
    """max_rows caps each GETBULK at the rows still expected (+1 to see the column end);
    a hint that is too small or too large still yields the whole column."""
    column = IF_ENTRY + (2,)
    async with faulty_agent(TABLE) as agent, SnmpClient.open() as client:
        got = await client.walk(target(agent, max_repetitions=100, max_repetitions_cap=100), column, max_rows=hint)
        asked = list(agent.max_repetitions)
    assert got == under(column)
    if hint == 59:
        assert asked == [60]  # one request, one varbind past the column
    assert all(n <= max(1, hint + 1) for n in asked[:1])
