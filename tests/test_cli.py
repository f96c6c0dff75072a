"""The operator's commands, run as a user would: the installed `eyenet` script against real agents."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from netsnmp_output import NETSNMP_OUTPUT_OPTIONS, parse_netsnmp_output

from eyenet import __version__

EYENET = [sys.executable, "-m", "eyenet.cli"]
REPO = Path(__file__).resolve().parents[1]


def eyenet(*args, timeout=60):
    return subprocess.run([*EYENET, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO)


def netsnmp(tool, agent, *args):
    out = subprocess.run(
        [tool, "-v2c", "-c", agent.community, *NETSNMP_OUTPUT_OPTIONS, f"udp:{agent.host}:{agent.port}", *args],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return parse_netsnmp_output(out.stdout)


def test_version():
    result = eyenet("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"eyenet {__version__}"


def test_walk_text_output_has_one_line_per_varbind(snmpd_agent):
    result = eyenet("walk", "-c", snmpd_agent.community, f"{snmpd_agent.host}:{snmpd_agent.port}", "1.3.6.1.2.1.1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = netsnmp("snmpbulkwalk", snmpd_agent, "1.3.6.1.2.1.1")
    # sysUpTime is outside the agent's comparable view; everything else lines up one to one.
    assert [line.split(" = ")[0] for line in lines] == ["." + ".".join(map(str, oid)) for oid, _, _ in expected]
    by_oid = dict(line.split(" = ", 1) for line in lines)
    assert by_oid[".1.3.6.1.2.1.1.2.0"] == "OID: .1.3.6.1.4.1.8072.3.2.10"
    assert by_oid[".1.3.6.1.2.1.1.1.0"].startswith('STRING: "Linux')


def test_get_json_output(snmpd_agent):
    oids = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.9.1.3.1", "1.3.6.1.2.1.1.77.0"]
    result = eyenet("get", "--json", "-c", snmpd_agent.community, f"{snmpd_agent.host}:{snmpd_agent.port}", *oids)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    expected = netsnmp("snmpget", snmpd_agent, *oids)
    assert [r["oid"] for r in rows] == oids
    assert rows[0]["type"] == "STRING"
    assert bytes.fromhex(rows[0]["value"]["hex"]) == expected[0][2]
    assert rows[0]["value"]["text"] == expected[0][2].decode()
    assert rows[1] == {"oid": oids[1], "type": "OID", "value": "1.3.6.1.4.1.8072.3.2.10"}
    assert rows[3] == {"oid": oids[3], "type": "noSuchObject", "value": None}


def test_json_types_from_a_recording(snmpsim_agent):
    """Counter64, Gauge32, IpAddress and binary strings as the JSON form promises."""
    target = f"{snmpsim_agent.host}:{snmpsim_agent.port}"
    oids = ["1.3.6.1.2.1.31.1.1.1.6.2", "1.3.6.1.2.1.31.1.1.1.15.2", "1.3.6.1.2.1.2.2.1.6.2", "1.3.6.1.2.1.4.20.1.3.127.0.0.1"]
    result = eyenet("get", "--json", "-c", "linux_icecast", target, *oids)
    assert result.returncode == 0, result.stderr
    rows = {r["oid"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows[oids[0]]["type"] == "Counter64" and isinstance(rows[oids[0]]["value"], int)
    assert rows[oids[1]]["type"] == "Gauge32"
    assert rows[oids[2]]["value"] == {"hex": "d60e3294e0a0"}  # a MAC: no "text"
    assert rows[oids[3]] == {"oid": oids[3], "type": "IpAddress", "value": "255.0.0.0"}


def test_walk_v1_whole_tree_from_one_arc(snmpsim_agent):
    result = eyenet("walk", "-v", "1", "-c", "routeros_crs317", f"{snmpsim_agent.host}:{snmpsim_agent.port}", "1")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) > 500


@pytest.mark.parametrize(
    "args,needle",
    [
        (["get", "--timeout", "0.2", "--retries", "1", "127.0.0.1:9", "1.3.6.1.2.1.1.1.0"], "127.0.0.1:9: no response after 2 attempt(s)"),
        (["get", "no-such-host.invalid", "1.3.6.1.2.1.1.1.0"], "no-such-host.invalid:161: cannot resolve host"),
        (["walk", "127.0.0.1", "1.3.six"], "bad OID '1.3.six'"),
        (["get", "127.0.0.1:99999", "1.3.6.1.2.1.1.1.0"], "bad target '127.0.0.1:99999'"),
    ],
    ids=["timeout", "unknown-host", "bad-oid", "bad-port"],
)
def test_errors_are_one_line_naming_target_and_cause(args, needle):
    result = eyenet(*args, "-c", "s3cret-community")
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "s3cret" not in result.stderr


def test_check_config(tmp_path):
    good = eyenet("check-config", "config/eyenet.example.toml")
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[snmp]\ntimeout = "soon"\n\n[[devices]]\nid = "a b"\nhost = "h"\nversion = "4"\ncolour = 1\n\n[[devices]]\nhost = "x"\n'
    )
    result = eyenet("check-config", str(bad))
    assert result.returncode == 2
    for expected in [
        f"{bad}: snmp.timeout: must be int or float",
        f"{bad}: devices[0].colour: unknown key",
        f"{bad}: devices[0].id: 'a b' must be",
        f"{bad}: devices[0].version: must be one of 1, 2c, 3, not '4'",
        f"{bad}: devices[1].id: is required",
    ]:
        assert expected in result.stderr


def test_check_config_loads_an_operator_profile_directory(tmp_path):
    (tmp_path / "profiles.d").mkdir()
    (tmp_path / "profiles.d" / "acme.toml").write_text("this is = = not toml\n")
    conf = tmp_path / "eyenet.toml"
    conf.write_text('[profiles]\ndir = "profiles.d"\n')
    result = eyenet("check-config", str(conf))
    assert result.returncode == 2
    assert "acme.toml" in result.stderr
    (tmp_path / "profiles.d" / "acme.toml").unlink()
    result = eyenet("check-config", str(conf))
    assert result.returncode == 0 and "profile(s)" in result.stdout, result.stderr
    conf.write_text('[profiles]\ndir = "nowhere"\n')
    result = eyenet("check-config", str(conf))
    assert result.returncode == 2 and "profiles.dir" in result.stderr
