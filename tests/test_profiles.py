"""Unit tests: profile loading, validation, matching, and the pure combining functions of eyenet.collect."""

from __future__ import annotations

import re

import attrs
import pytest

from eyenet.collect.interfaces import interface_speed, interfaces_from_columns
from eyenet.collect.methods import (
    average,
    components,
    evaluate,
    free_total,
    hrstorage_percent,
    hundred_minus,
    number,
    used_free,
    used_total,
)
from eyenet.collect.profiles import HR_STORAGE_RAM, ProfileError, load_profiles, match, parse_profile
from eyenet.collect.read import version_of
from eyenet.snmp.mib import HR_STORAGE_DESCR, HR_STORAGE_SIZE, HR_STORAGE_TYPE, HR_STORAGE_UNITS, HR_STORAGE_USED
from eyenet.snmp.rows import rows_of, text_of
from eyenet.snmp.values import Tag, VarBind

VENDORS = {
    "cisco-ios", "cisco-nxos", "juniper-junos", "arista-eos", "mikrotik-routeros", "hpe-procurve", "aruba-aoscx",
    "ubiquiti-edgeswitch", "fortinet-fortigate", "dell-os10", "huawei-vrp", "linux-netsnmp",
}


def oid(text: str) -> tuple[int, ...]:
    return tuple(int(a) for a in text.split("."))


# -- loading ---------------------------------------------------------------------


def test_packaged_profiles_load_and_cover_every_vendor():
    profiles = load_profiles()
    names = {p.name for p in profiles.profiles}
    assert VENDORS | {"generic"} <= names
    generic = profiles.by_name("generic")
    assert generic.applies_to_all and generic.cpu and generic.memory
    for p in profiles.profiles:
        assert p.source.startswith("collectors/")
        # A family whose MIBs have no memory (or no CPU) leaves that metric to generic.toml.
        assert p.cpu or p.memory, p.name
        if p.name != "generic":
            assert p.matches, p.name
    # MIB names beside the numbers: kept for messages.
    assert profiles.by_name("cisco-ios").oid_names[oid("1.3.6.1.4.1.9.9.109.1.1.1.1.8")] == "cpmCPUTotal5minRev"


def test_extra_directory_adds_and_overrides(tmp_path):
    (tmp_path / "acme.toml").write_text(
        '[profile]\nname = "acme"\nvendor = "Acme"\n[[match]]\nsys_object_id = "1.3.6.1.4.1.99999"\n'
        '[oids]\nacmeCpu = "1.3.6.1.4.1.99999.1.1.0"\n[[cpu]]\nmethod = "value"\noid = "acmeCpu"\n'
    )
    (tmp_path / "fortinet.toml").write_text(
        '[profile]\nname = "fortinet-fortigate"\n[[match]]\nsys_object_id = "1.3.6.1.4.1.12356"\n'
        '[[memory]]\nmethod = "percent"\noid = "1.3.6.1.4.1.12356.101.4.1.4.0"\n'
    )
    (tmp_path / "README.txt").write_text("not a profile")
    profiles = load_profiles(tmp_path)
    acme = profiles.by_name("acme")
    assert acme.vendor == "Acme" and acme.cpu[0].sources["oid"] == (oid("1.3.6.1.4.1.99999.1.1.0"),)
    assert profiles.by_name("fortinet-fortigate").source == str(tmp_path / "fortinet.toml")
    assert match(profiles.profiles, "1.3.6.1.4.1.99999.7", "")[0].name == "acme"


def test_missing_extra_directory_is_an_error(tmp_path):
    with pytest.raises(ProfileError, match="not found"):
        load_profiles(tmp_path / "nope")


def test_every_problem_of_a_directory_is_reported_with_file_and_key(tmp_path):
    (tmp_path / "a.toml").write_text('[profile]\nname = "a"\n[[cpu]]\nmethod = "median"\noid = "1.3.6.1"\n')
    (tmp_path / "b.toml").write_text("[profile\nname=")
    with pytest.raises(ProfileError) as info:
        load_profiles(tmp_path)
    problems = info.value.problems
    assert any(p.startswith(f"{tmp_path / 'a.toml'}: cpu[1].method: must be one of value, average, 100-minus") for p in problems)
    assert any(p.startswith(f"{tmp_path / 'b.toml'}: (syntax):") for p in problems)


BASE = '[profile]\nname = "x"\n'


@pytest.mark.parametrize(
    "body, key, reason",
    [
        ("", "cpu", "at least one"),
        ('[[cpu]]\nmethod = "value"\n', "cpu[1].oid", "required by method value"),
        ('[[cpu]]\nmethod = "value"\noid = "cpuLoad"\n', "cpu[1].oid", "'cpuLoad' is not defined in [oids]"),
        ('[[cpu]]\nmethod = "value"\noid = "1.3.x"\n', "cpu[1].oid", "bad OID"),
        ('[[cpu]]\nmethod = "value"\noid = "1.3.6.1"\ncolour = 1\n', "cpu[1].colour", "unknown key"),
        ('[[cpu]]\nmethod = "percent"\noid = "1.3.6.1"\n', "cpu[1].method", "must be one of"),
        ('[[memory]]\nmethod = "used_total"\nused = "1.3.6.1"\n', "memory[1].total", "required by method used_total"),
        ('[[memory]]\nmethod = "used_free"\nused = "1.3.6.1"\nfree = "1.3.6.2"\noid = "1.3.6.3"\n', "memory[1].oid", "not used by method used_free"),
        ('[[cpu]]\nmethod = "average"\noid = "1.3.6.1"\nread = "get"\n', "cpu[1].read", "must be \"walk\""),
        ('[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\nwhere = [{ column = "1.3.6.2", equals = 1 }]\n', "cpu[1].where", "add read = \"walk\""),
        ('[[cpu]]\nmethod = "average"\noid = "1.3.6.1"\nwhere = [{ column = "1.3.6.2" }]\n', "cpu[1].where[1]", "exactly one of"),
        ('[[cpu]]\nmethod = "average"\noid = "1.3.6.1"\nwhere = [{ equals = 2 }]\n', "cpu[1].where[1].column", "required"),
        ('[[cpu]]\nmethod = "average"\noid = "1.3.6.1"\nwhere = [{ column = "index", above = "x" }]\n', "cpu[1].where[1].above", "must be int or float"),
        ('[[cpu]]\nmethod = "average"\noid = "1.3.6.1"\nwhere = [{ column = "index", matches = "(" }]\n', "cpu[1].where[1].matches", "bad regular expression"),
        ('[[cpu]]\nmethod = "average"\noid = "1.3.6.1"\nwhere = [{ column = "1.3.6.2", at = "index.x", equals = 1 }]\n', "cpu[1].where[1].at", "bad OID"),
        ('[[cpu]]\nmethod = "average"\noid = "1.3.6.1"\nwhere = [{ column = "index", at = "index.1", equals = "1" }]\n', "cpu[1].where[1].at", "needs no"),
        ('[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\nregex = "[0-9]+"\n', "cpu[1].regex", "needs one group"),
        ('[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\nscale = 0\n', "cpu[1].scale", "must be greater than 0"),
        ('[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\nweight = "1.3.6.2"\n', "cpu[1].weight", "only an average"),
        ('[[memory]]\nmethod = "percent"\noid = "1.3.6.1.0"\nname = "RAM"\n', "memory[1].name", "only method hrstorage"),
        ('[[match]]\n[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "match[1]", "needs sys_object_id and/or sys_descr"),
        ('[[match]]\nsys_descr = "(("\n[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "match[1].sys_descr", "bad regular expression"),
        ('[oids]\nfoo = "bar"\n[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "oids.foo", "numeric OID string"),
        ('[extra]\n[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "extra", "unknown key"),
        ('[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\ndescr = "1.3.6.2"\n', "cpu[1].descr", "add read = \"walk\""),
        ('[[cpu]]\nmethod = "average"\noid = "1.3.6.1"\ndescr_at = "index.1"\n', "cpu[1].descr_at", "goes with descr"),
        ('[identity]\nversion = "Version [0-9]+"\n[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "identity.version[1]", "needs a group"),
        ('[identity]\nversion = [{ regex = "(x)" }]\n[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "identity.version[1]", "sys_descr"),
        ('[identity]\nversion = [{ oid = "swVersion" }]\n[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "identity.version[1].oid", "not defined in [oids]"),
        ('[identity]\nversion = 3\n[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "identity.version", "must be"),
    ],
)
def test_validation_names_key_and_reason(body, key, reason):
    with pytest.raises(ProfileError) as info:
        parse_profile(BASE + body, "vendor.toml")
    assert any(p.startswith(f"vendor.toml: {key}: ") and reason in p for p in info.value.problems), info.value.problems


def test_profile_needs_a_valid_name():
    with pytest.raises(ProfileError, match=r"x.toml: profile.name: is required"):
        parse_profile('[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "x.toml")
    with pytest.raises(ProfileError, match=r"profile.name: 'Big Name'"):
        parse_profile('[profile]\nname = "Big Name"\n[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n', "x.toml")


def test_duplicate_packaged_names_are_refused():
    from eyenet.collect import profiles as mod

    loaded: dict = {}
    problems: list[str] = []
    text = BASE + '[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n'
    mod._load_into(loaded, "one.toml", text, problems, override=False)
    mod._load_into(loaded, "two.toml", text, problems, override=False)
    assert problems == ["two.toml: profile.name: 'x' is already defined in one.toml"]


# -- matching ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sys_object_id, sys_descr, first",
    [
        ("1.3.6.1.4.1.9.1.1208", "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.0(2a)EX5", "cisco-ios"),
        ("1.3.6.1.4.1.9.1.2494", "Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software, IOS-XE", "cisco-ios"),
        ("1.3.6.1.4.1.9.12.3.1.3.1163", "Cisco NX-OS(tm) nxos.7.0.3.I7.8.bin, Software (nxos)", "cisco-nxos"),
        (".1.3.6.1.4.1.2636.1.1.1.2.29", "Juniper Networks, Inc. mx240 internet router", "juniper-junos"),
        ("1.3.6.1.4.1.30065.1.3011.7050", "Arista Networks EOS version 4.28", "arista-eos"),
        ("1.3.6.1.4.1.14988.1", "RouterOS CCR1036", "mikrotik-routeros"),
        ("1.3.6.1.4.1.11.2.3.7.11.84", "HP J9146A E2910al-24G-PoE Switch", "hpe-procurve"),
        ("1.3.6.1.4.1.47196.4.1.1.1.50", "Aruba JL635A 8325 GL.10.04.2000", "aruba-aoscx"),
        ("1.3.6.1.4.1.4413", "EdgeSwitch 24-Port 250W, 1.8.0.5106045, Linux 3.6.5", "ubiquiti-edgeswitch"),
        ("1.3.6.1.4.1.12356.101.1.644", "Firewall Test150", "fortinet-fortigate"),
        ("1.3.6.1.4.1.674.11000.5000.100.2.1.7", "Dell EMC Networking OS10 Enterprise.", "dell-os10"),
        ("1.3.6.1.4.1.2011.2.23.291", "S5720-56C-PWR-EI-AC\nHuawei Versatile Routing Platform Software", "huawei-vrp"),
        ("1.3.6.1.4.1.8072.3.2.10", "Linux host 5.10.0", "linux-netsnmp"),
        ("1.3.6.1.4.1.8072.3.2.8", "FreeBSD host 13.2", "generic"),
        ("", "", "generic"),
    ],
)
def test_match_orders_vendor_first_generic_last(sys_object_id, sys_descr, first):
    matched = load_profiles().match(sys_object_id, sys_descr)
    assert matched[0].name == first
    assert matched[-1].name == "generic"


def test_match_is_on_whole_arcs_and_prefers_the_longest_prefix():
    profiles = load_profiles()
    # 1.3.6.1.4.1.99 is not under 1.3.6.1.4.1.9 (Cisco).
    assert [p.name for p in profiles.match("1.3.6.1.4.1.99.1", "Cisco IOS Software")] == ["generic"]
    # Cisco's prefix without an IOS/NX-OS sysDescr: no Cisco profile.
    assert [p.name for p in profiles.match("1.3.6.1.4.1.9.1.1", "Adaptive Security Appliance")] == ["generic"]
    longer = parse_profile('[profile]\nname = "edge-special"\n[[match]]\nsys_object_id = "1.3.6.1.4.1.4413.9"\n'
                           '[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n')
    order = [p.name for p in match(profiles.profiles + (longer,), "1.3.6.1.4.1.4413.9.1", "EdgeSwitch")]
    assert order == ["edge-special", "ubiquiti-edgeswitch", "generic"]


# -- combining functions -----------------------------------------------------------


def test_combining_functions():
    assert average([10, 20, 30]) == 20
    assert average([]) is None
    assert average([10, 50], weights=[3, 1]) == 20
    assert average([10], weights=[0]) is None
    assert hundred_minus(87) == 13 and hundred_minus(None) is None
    assert used_total(25, 100) == 25 and used_total(1, 0) is None and used_total(None, 5) is None
    assert used_free(50661572, 392203472) == pytest.approx(11.4395, abs=1e-3)
    assert free_total(85068, 256404) == pytest.approx(66.82, abs=1e-2)
    assert free_total(None, 5) is None


def test_number_parses_integers_and_text():
    assert number(5) == 5.0
    assert number(b" 56.69 ") == 56.69
    assert number(b"n/a") is None and number(None) is None and number((1, 3)) is None
    text = b"5 Secs ( 31.1134%)   60 Secs ( 16.7571%)  300 Secs ( 14.3501%)"
    assert number(text, re.compile(r"60 Secs \(\s*([0-9.]+)%\)")) == 16.7571
    assert number(text, re.compile(r"1 Hour \(([0-9.]+)%\)")) is None


def test_interface_speed():
    assert interface_speed(1_000_000_000, 1000) == 1_000_000_000
    assert interface_speed(4294967295, 10000) == 10_000_000_000  # saturated ifSpeed
    assert interface_speed(4294967295, None) is None
    assert interface_speed(64000, 0) == 64000  # sub-Mbit/s: ifHighSpeed rounds to 0
    assert interface_speed(10_000_000, None) == 10_000_000
    assert interface_speed(0, 0) is None and interface_speed(None, None) is None


RAM, OTHER, VIRTUAL = HR_STORAGE_RAM, oid("1.3.6.1.2.1.25.2.1.1"), oid("1.3.6.1.2.1.25.2.1.3")
LINUX_HR = {  # linux_icecast's hrStorageTable, memory rows
    "types": {(1,): RAM, (3,): VIRTUAL, (6,): OTHER, (7,): OTHER, (8,): OTHER},
    "descrs": {(1,): b"Physical memory", (3,): b"Virtual memory", (6,): b"Memory buffers", (7,): b"Cached memory", (8,): b"Shared memory"},
    "units": {(1,): 1024, (3,): 1024, (6,): 1024, (7,): 1024, (8,): 1024},
    "sizes": {(1,): 841176, (3,): 841176, (6,): 841176, (7,): 344508, (8,): 104760},
    "useds": {(1,): 761144, (3,): 761144, (6,): 0, (7,): 344508, (8,): 104760},
}


def test_hrstorage_takes_reclaimable_rows_off_used():
    reclaimable = re.compile(r"^(Memory buffers|Cached memory)$")
    assert hrstorage_percent(**LINUX_HR, reclaimable=reclaimable) == pytest.approx(49.53, abs=0.01)
    assert hrstorage_percent(**LINUX_HR) == pytest.approx(90.49, abs=0.01)  # raw, buffers and cache counted as used
    assert hrstorage_percent(**LINUX_HR, name=re.compile("^nothing$")) is None
    assert hrstorage_percent(**{**LINUX_HR, "types": {}}) is None


def test_hrstorage_units_and_negative_integer32():
    rows = {"types": {(1,): RAM}, "descrs": {(1,): b"RAM"}, "units": {(1,): 65536}, "sizes": {(1,): -2}, "useds": {(1,): 2**31}}
    # size -2 is 4294967294 units once unwrapped: half used.
    assert hrstorage_percent(**rows) == pytest.approx(50.0, abs=1e-6)


def _method(toml: str, metric: str = "memory", n: int = 0):
    return getattr(parse_profile(BASE + toml), metric)[n]


def test_evaluate_used_free_with_a_column_filter_pools_rows():
    method = _method(
        '[[memory]]\nmethod = "used_free"\nread = "walk"\nused = "1.9.18"\nfree = "1.9.20"\n'
        'where = [{ column = "1.9.2", equals = 2 }]\n'
    )
    columns = {
        oid("1.9.2"): {(22, 1): 2, (22, 2): 3, (23, 1): 2},  # two processor pools, one I/O pool
        oid("1.9.18"): {(22, 1): 30, (22, 2): 90, (23, 1): 10},
        oid("1.9.20"): {(22, 1): 70, (22, 2): 10, (23, 1): 90},
    }
    assert evaluate(method, {}, columns) == pytest.approx(20.0)  # (30+10) / (100+100)
    assert evaluate(method, {}, {}) is None


def test_evaluate_index_and_regex_filters():
    by_index = _method('[[memory]]\nmethod = "used_free"\nread = "walk"\nused = "1.5"\nfree = "1.6"\n'
                       'where = [{ column = "index", equals = "1" }]\n')
    columns = {oid("1.5"): {(1,): 11, (2,): 75}, oid("1.6"): {(1,): 89, (2,): 25}}
    assert evaluate(by_index, {}, columns) == pytest.approx(11.0)
    by_name = _method('[[cpu]]\nmethod = "average"\noid = "1.8"\nwhere = [{ column = "1.5", matches = "(?i)routing engine" }]\n', "cpu")
    columns = {oid("1.8"): {(7, 1, 0, 0): 40, (9, 1, 0, 0): 17, (9, 2, 0, 0): 19},
               oid("1.5"): {(7, 1, 0, 0): b"FPC: QFX", (9, 1, 0, 0): b"Routing Engine 0", (9, 2, 0, 0): b"Routing Engine 1"}}
    assert evaluate(by_name, {}, columns) == pytest.approx(18.0)


def test_evaluate_weighted_percent_and_above_filter():
    method = _method('[[memory]]\nmethod = "percent"\nread = "walk"\noid = "1.7"\nweight = "1.9"\n'
                     'where = [{ column = "1.9", above = 0 }]\n')
    columns = {oid("1.7"): {(1,): 10, (2,): 40, (3,): 0}, oid("1.9"): {(1,): 3000, (2,): 1000, (3,): 0}}
    assert evaluate(method, {}, columns) == pytest.approx(17.5)


def test_evaluate_weights_read_an_overflowed_integer32_size_as_unsigned():
    """VRP's hwEntityMemSize is an Integer32: a 2.6 GB board reads -1535721472."""
    method = _method('[[memory]]\nmethod = "percent"\nread = "walk"\noid = "1.7"\nweight = "1.9"\n')
    columns = {oid("1.7"): {(1,): 36, (2,): 10}, oid("1.9"): {(1,): -1535721472, (2,): 2**30}}
    expected = (36 * 2759245824 + 10 * 2**30) / (2759245824 + 2**30)
    assert evaluate(method, {}, columns) == pytest.approx(expected)


def test_evaluate_filters_on_the_row_another_table_holds():
    """`at`: a pointer column (cpmCPUTotalPhysicalIndex) or an index arc (cempMemPoolTable's
    entPhysicalIndex) says which row of the filter column's table counts."""
    cpu = _method('[[cpu]]\nmethod = "average"\noid = "1.8"\n'
                  'where = [{ column = "2.7", at = "1.2", matches = "RP XR" }]\n', "cpu")
    assert cpu.oids() == (oid("1.8"), oid("1.2")) and cpu.lookups()[0].at == oid("1.2")
    names = {(96,): b"0/RSP0-Virtual processor for admin", (97,): b"0/RSP0-Virtual processor for RP XR"}
    columns = {oid("1.8"): {(33,): 5, (65,): 1, (99,): 50}, oid("1.2"): {(33,): 97, (65,): 96, (99,): 0}, oid("2.7"): names}
    assert evaluate(cpu, {}, columns) == pytest.approx(5.0)
    memory = _method('[[memory]]\nmethod = "used_free"\nread = "walk"\nused = "1.18"\nfree = "1.20"\n'
                     'where = [{ column = "1.2", equals = 2 }, { column = "2.7", at = "index.1", matches = "RP XR" }]\n')
    columns = {oid("1.2"): {(96, 1): 2, (97, 1): 2, (97, 3): 12}, oid("1.18"): {(96, 1): 40, (97, 1): 17, (97, 3): 4},
               oid("1.20"): {(96, 1): 60, (97, 1): 83, (97, 3): 0}, oid("2.7"): names}
    assert evaluate(memory, {}, columns) == pytest.approx(17.0)
    assert evaluate(memory, {}, {k: v for k, v in columns.items() if k != oid("2.7")}) is None


def test_evaluate_scalars_sum_scale_and_range():
    free_list = _method('[[memory]]\nmethod = "free_total"\nfree = ["1.6.0", "1.14.0", "1.15.0"]\ntotal = "1.5.0"\n')
    scalars = {oid("1.5.0"): 841176, oid("1.6.0"): 80004, oid("1.14.0"): 0, oid("1.15.0"): 344508}
    assert evaluate(free_list, scalars, {}) == pytest.approx(49.53, abs=0.01)
    assert evaluate(free_list, {**scalars, oid("1.14.0"): None}, {}) is None  # one part missing: no value
    idle = _method('[[cpu]]\nmethod = "100-minus"\noid = "1.11.0"\n', "cpu")
    assert evaluate(idle, {oid("1.11.0"): 87}, {}) == 13
    tenths = _method('[[cpu]]\nmethod = "value"\noid = "1.1.0"\nscale = 0.1\n', "cpu")
    assert evaluate(tenths, {oid("1.1.0"): 425}, {}) == pytest.approx(42.5)
    assert evaluate(tenths, {oid("1.1.0"): 4250}, {}) is None  # 425 %: a wrong reading, not a value
    mixed = _method('[[memory]]\nmethod = "used_total"\nused = "1.1.0"\ntotal = "1.2.0"\ntotal_scale = 1024\n')
    assert evaluate(mixed, {oid("1.1.0"): 512 * 1024, oid("1.2.0"): 1024}, {}) == pytest.approx(50.0)


def test_rows_of_and_interfaces_from_columns():
    ifdescr = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
    varbinds = [VarBind(ifdescr + (1,), Tag.OCTET_STRING, b"eth0"), VarBind(ifdescr + (2,), Tag.OCTET_STRING, b"eth1\x00"),
                VarBind(ifdescr + (3,), Tag.NULL, None)]  # a walk of ifDescr; a NULL is no value
    rows = rows_of(ifdescr, varbinds)
    assert rows == {(1,): b"eth0", (2,): b"eth1\x00"}
    columns = {
        "ifDescr": rows,
        "ifType": {(1,): 6, (2,): 6},
        "ifAdminStatus": {(1,): 1, (2,): 2},
        "ifOperStatus": {(1,): 1, (2,): 7},
        "ifSpeed": {(1,): 4294967295, (2,): 100_000_000},
        "ifHighSpeed": {(1,): 25000},
        "ifName": {(1,): b"et-0/0/0", (3,): b"orphan ifXTable row"},
        "ifHCInOctets": {(1,): 2**40}, "ifHCOutOctets": {(1,): 7},
        "ifInOctets": {(1,): 5, (2,): 100}, "ifOutOctets": {(2,): 200},
        "ifInErrors": {(1,): 3}, "ifCounterDiscontinuityTime": {(1,): 0},
    }
    a, b = interfaces_from_columns(columns)
    assert (a.if_index, a.if_name, a.name, a.speed, a.in_octets, a.out_octets, a.counter_bits) == (1, "et-0/0/0", "et-0/0/0", 25_000_000_000, 2**40, 7, 64)
    assert (a.admin_status, a.oper_status, a.in_errors, a.counter_discontinuity) == ("up", "up", 3, 0)
    assert (b.if_index, b.if_name, b.if_descr, b.name, b.speed, b.in_octets, b.out_octets, b.counter_bits) == (2, "", "eth1", "eth1", 100_000_000, 100, 200, 32)
    assert (b.admin_status, b.oper_status, b.in_errors) == ("down", "lowerLayerDown", None)


def test_text_of_decodes_latin1_and_oids():
    assert text_of(b"caf\xe9") == "café"
    assert text_of("café".encode()) == "café"
    assert text_of((1, 3, 6)) == "1.3.6"
    assert text_of(None) == ""


def test_hrstorage_method_from_columns():
    method = _method('[[memory]]\nmethod = "hrstorage"\nreclaimable = "^(Memory buffers|Cached memory)$"\n')
    columns = {HR_STORAGE_TYPE: LINUX_HR["types"], HR_STORAGE_DESCR: LINUX_HR["descrs"], HR_STORAGE_UNITS: LINUX_HR["units"],
               HR_STORAGE_SIZE: LINUX_HR["sizes"], HR_STORAGE_USED: LINUX_HR["useds"]}
    assert evaluate(method, {}, columns) == pytest.approx(49.53, abs=0.01)


def test_a_used_figure_that_already_excludes_the_reclaimable_rows_is_a_reason_not_zero():
    """AOS-CX 10.13 and newer net-snmp leave buffers and cache out of the RAM row's used:
    taking them off again would go negative. The method gives no value, and says why."""
    from eyenet.collect.methods import assess

    method = parse_profile(
        '[profile]\nname = "x"\n[[memory]]\nmethod = "hrstorage"\nreclaimable = "^(Memory buffers|Cached memory)$"\n'
    ).memory[0]
    ram = (1, 3, 6, 1, 2, 1, 25, 2, 1, 2)
    other = (1, 3, 6, 1, 2, 1, 25, 2, 1, 1)
    columns = {
        (1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 2): {(1,): ram, (6,): other, (7,): other},
        (1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 3): {(1,): b"Physical memory", (6,): b"Memory buffers", (7,): b"Cached memory"},
        (1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 4): {(1,): 1024, (6,): 1024, (7,): 1024},
        (1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 5): {(1,): 16014432, (6,): 16014432, (7,): 16014432},
        (1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 6): {(1,): 1984968, (6,): 140192, (7,): 2664860},
    }
    value, reason = assess(method, {}, columns)
    assert value is None and "already excludes" in reason
    assert assess(attrs.evolve(method, reclaimable=None), {}, columns)[0] == pytest.approx(12.39, abs=0.01)


def test_components_list_each_row_with_its_figure():
    """Every row a walked method reads, with its own percentage and name: those its filters
    keep are counted; those they leave out are listed (named, above 0) but not counted."""
    method = _method('[[memory]]\nmethod = "used_free"\nread = "walk"\nused = "1.18"\nfree = "1.20"\ndescr = "1.3"\n'
                     'where = [{ column = "1.2", equals = 2 }]\n')
    columns = {oid("1.2"): {(1,): 2, (2,): 1, (3,): 1}, oid("1.18"): {(1,): 25, (2,): 60, (3,): 0},
               oid("1.20"): {(1,): 75, (2,): 40, (3,): 10}, oid("1.3"): {(1,): b"Processor", (2,): b"I/O\x00", (3,): b"Fan"}}
    assert [(c.index, c.description, c.value, c.counted) for c in components(method, {}, columns)] == [
        ("1", "Processor", 25.0, True), ("2", "I/O", 60.0, False)]
    unnamed = attrs.evolve(method, descr=None)
    assert [(c.index, c.description, c.counted) for c in components(unnamed, {}, columns)] == [("1", None, True)]
    single = _method('[[cpu]]\nmethod = "value"\noid = "1.1.0"\n', "cpu")
    (only,) = components(single, {oid("1.1.0"): 7}, {})
    assert (only.kind, only.index, only.value, only.counted) == ("processor", None, 7.0, True)
    assert components(single, {}, {}) == ()


def test_version_sources_in_order():
    profile = parse_profile(BASE + '[[match]]\nsys_descr = "x"\n[oids]\nsw = "1.3.6.1.4.1.9.1.0"\n'
                            '[identity]\nversion = [{ oid = "sw", regex = "^OS (\\\\S+)" }, { sys_descr = "Version ([0-9.]+) \\\\((V\\\\w+)\\\\)" }]\n'
                            '[[cpu]]\nmethod = "value"\noid = "1.3.6.1.0"\n')
    descr = "VRP software, Version 5.170 (V200R010)"
    assert version_of(profile, descr, {oid("1.3.6.1.4.1.9.1.0"): b"OS 7.2 (GA)"}) == "7.2"
    assert version_of(profile, descr, {oid("1.3.6.1.4.1.9.1.0"): None}) == "5.170 V200R010"  # groups joined
    assert version_of(profile, "no version here", {}) is None
