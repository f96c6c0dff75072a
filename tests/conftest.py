"""Shared pytest fixtures: the test data and real SNMP agents on loopback.

* ``testdata_dir`` (session): ``tests/data/librenms`` (LibreNMS' device recordings
  and expectations: GPL v3 fixtures, never packaged; see its NOTICE).
* ``snmprec_dir`` (session): ``testdata_dir / "snmprec"``.
* ``snmpsim_agent`` (session): one snmpsim process serving every recording;
  ``agent.communities`` lists them, the community of each is its file stem.
* ``snmpd_agent`` (module): net-snmp's snmpd. ``agent.community`` sees the
  tree minus agents.VOLATILE_SUBTREES (process and socket tables, clocks as
  strings, ...): counters and gauges are there, so compare a walk of it with
  net-snmp walks taken just before and after. ``agent.stable_community`` sees
  only what never changes (two walks are identical); ``agent.full_community``
  sees everything. It also listens on ``[::1]``, same port, when the host has
  IPv6 (``agent.host6``, else None). A test that must restart or kill an agent
  starts its own with ``agents.start_snmpd(tmp_path)``.

The fixtures are synchronous; pytest-trio (trio_mode) lets trio tests use them.

scripts/test.sh runs the files on two workers (pytest-xdist, ``--dist loadfile``); files
with slow tests go first, so that the longest ones start early instead of ending the run
on one worker while the other waits.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # "import agents" in tests and bench scripts

import agents  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: each file keeps its order


@pytest.fixture(scope="session")
def testdata_dir() -> Path:
    path = agents.TESTDATA_DIR
    if not (path / "snmprec").is_dir():
        pytest.fail(
            f"test data not found: expected the device recordings in {path / 'snmprec'} "
            f"(tests/data/librenms in the repository {agents.REPO_ROOT}). "
            f"Restore it from git (git checkout -- tests/data/librenms); the tests need it and never skip.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def snmprec_dir(testdata_dir: Path) -> Path:
    return testdata_dir / "snmprec"


@pytest.fixture(scope="session")
def snmpsim_agent(snmprec_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    agent = agents.start_snmpsim(snmprec_dir, tmp_path_factory.mktemp("snmpsim"))
    try:
        yield agent
    finally:
        agent.stop()


@pytest.fixture(scope="module")
def snmpd_agent(tmp_path_factory: pytest.TempPathFactory):
    agent = agents.start_snmpd(tmp_path_factory.mktemp("snmpd"), ipv6=agents.ipv6_available())
    try:
        yield agent
    finally:
        agent.stop()
