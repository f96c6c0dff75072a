"""The one reader of untrusted tables: types from annotations, bounds, choices, tests, every problem with its key."""

import attrs
import pytest

from eyenet.validate import Check, Invalid, Reader, field, not_empty, port


@attrs.frozen
class Sample:
    name: str = field(test=not_empty)
    port: int = field(5000, test=port("TCP", lowest=0))
    timeout: float = field(10.0, gt=0, unit=" seconds")
    share: float = field(0.5, gt=0, le=1)
    retries: int = field(2, ge=0)
    mode: str = field("fast", choices=("fast", "slow"))
    tags: tuple[str, ...] = ()
    roles: dict[str, str] = field(factory=dict, keys=("a", "b"), choices=("viewer", "admin"), hash=False)
    kinds: frozenset[str] = field(frozenset(), choices=("x", "y"), converter=frozenset)
    note: str | None = None
    token: str = field("", repr=False)
    on: bool = True


class Problems(Invalid):
    pass


def test_a_good_table_is_converted():
    r = Reader("f.toml")
    values = r.fields(Sample, {"name": "n", "timeout": 3, "tags": ["a"], "kinds": ["x"], "roles": {"a": "admin"}})
    assert r.problems == []
    assert values == {"name": "n", "timeout": 3.0, "tags": ("a",), "kinds": frozenset({"x"}), "roles": {"a": "admin"}}
    assert isinstance(values["timeout"], float)
    assert Sample(**values).port == 5000


def test_every_problem_is_named_with_its_key_in_input_order():
    r = Reader("f.toml")
    values = r.fields(Sample, {
        "port": 70000, "timeout": 0, "share": 2, "retries": -1, "mode": "warp", "tags": ["a", 1], "note": 5,
        "roles": {"a": "root", "c": "admin", "b": "viewer"}, "kinds": ["z"], "token": 7, "on": "yes",
        "colour": 1, "share2": 1.5,
    }, "sec")
    assert r.messages() == [
        "f.toml: sec.name: is required",
        "f.toml: sec.port: 70000 is not a TCP port (0-65535)",
        "f.toml: sec.timeout: must be greater than 0 seconds",
        "f.toml: sec.share: must be more than 0 and at most 1",
        "f.toml: sec.retries: must be 0 or more",
        "f.toml: sec.mode: must be one of fast, slow, not 'warp'",
        "f.toml: sec.tags: must be a list of strings",
        "f.toml: sec.note: must be str, not int 5",
        "f.toml: sec.roles.a: must be one of viewer, admin, not 'root'",
        "f.toml: sec.roles.c: unknown key (expected one of: a, b)",
        "f.toml: sec.kinds: unknown ['z']: use some of x, y",
        "f.toml: sec.token: must be str, not int",  # kept out of repr: never quoted
        "f.toml: sec.on: must be bool, not str 'yes'",
        "f.toml: sec.colour: unknown key (expected one of: kinds, mode, name, note, on, port, retries, roles, share, "
        "tags, timeout, token)",
        "f.toml: sec.share2: unknown key (expected one of: kinds, mode, name, note, on, port, retries, roles, share, "
        "tags, timeout, token)",
    ]
    assert values == {"roles": {"b": "viewer"}}  # a table keeps its good entries
    with pytest.raises(Problems) as info:
        r.raise_problems(Problems)
    assert info.value.problems == r.messages() and str(info.value) == "\n".join(r.messages())


def test_types_names_and_values():
    r = Reader()
    spec = {"n": Check(float | str | None), "t": Check(dict), "l": Check(list), "b": Check(float), "s": Check(tuple[str, ...])}
    assert r.table({"n": None, "t": {}, "l": [1]}, "", spec) == {"n": None, "t": {}, "l": [1]}
    assert r.table({"n": 2}, "", spec) == {"n": 2.0}
    r.table({"n": True, "t": [], "l": {}, "b": float("nan"), "s": ["", "x"]}, "", spec)
    assert r.messages() == [
        "n: must be int or float or str, not bool True",
        "t: must be dict, not list []",
        "l: must be list, not dict {}",
        "b: must be a finite number",
        "s: must be a list of non-empty strings",
    ]
    r = Reader()
    r.table({"s": "x" * 200}, "", {"s": Check(int)})
    assert r.messages()[0].endswith("'" + "x" * 79 + "...")  # a long value is cut short


def test_partial_renamed_and_excluded_fields():
    r = Reader()
    assert r.fields(Sample, {"timeOut": 1}, names={"timeout": "timeOut"}, partial=True) == {"timeout": 1.0}
    r.fields(Sample, {"timeout": 1, "name": "x"}, names={"timeout": "timeOut"}, exclude=("name",))
    assert [str(p) for p in r.problems] == [
        "timeout: unknown key (expected one of: kinds, mode, note, on, port, retries, roles, share, tags, timeOut, token)",
        "name: unknown key (expected one of: kinds, mode, note, on, port, retries, roles, share, tags, timeOut, token)",
    ]


def test_arrays_of_tables():
    r = Reader("f")
    assert [key for key, _ in r.tables([{}, 3, {}], "hooks", what="a table ([[hooks]])")] == ["hooks[0]", "hooks[2]"]
    assert [key for key, _ in r.tables([{}], "cpu", first=1)] == ["cpu[1]"]
    assert r.messages() == ["f: hooks[1]: must be a table ([[hooks]])"]


def test_the_same_checks_run_in_code():
    with pytest.raises(ValueError, match="timeout: must be greater than 0 seconds"):
        Sample(name="n", timeout=0)
    with pytest.raises(ValueError, match=r"roles.c: unknown key"):
        Sample(name="n", roles={"c": "admin"})
    with pytest.raises(ValueError, match="name: must not be empty"):
        Sample(name=" ")
    assert Sample(name="n", kinds=("x",)).kinds == frozenset({"x"})
