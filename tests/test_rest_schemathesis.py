"""Schemathesis against /api/openapi.json of a running server, with an admin token.

The server (tests/test_rest.py's `serving`: store, token authority, poller and
snmpsim) runs in a thread with its own Trio loop, because schemathesis' tests
are synchronous and make their requests with `requests`. Every operation is
called with generated valid and invalid data; schemathesis checks each answer
against the document (status documented, body matching its schema, invalid
data refused, 405 with Allow for other methods, 401 without the token, ...).

In CI the cases are the same at every run: Hypothesis is derandomized (its seed
comes from the test) and keeps no example database, so a red run is the code's
doing and a rerun shows it again. A longer random search stays at hand outside CI:

    EYENET_FUZZ_EXAMPLES=500 pytest tests/test_rest_schemathesis.py

draws that many cases per operation from a fresh random seed each run (printed by
Hypothesis with any failure, with the database in .hypothesis/ to replay it).
"""

from __future__ import annotations

import os
import threading

import pytest
import schemathesis
import trio
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from test_rest import PASSWORD, serving

from eyenet.auth.passwords import hash_password

pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = int(os.environ.get("EYENET_FUZZ_EXAMPLES") or 0)
if FUZZ_EXAMPLES:
    CASES = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
else:
    CASES = settings(max_examples=25, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))


class ServerThread:
    def __init__(self, tmp_path, agent, password_hash):
        self._args = (tmp_path, agent, password_hash)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=trio.run, args=(self._main,), name="rest-server", daemon=True)

    async def _main(self) -> None:
        self._trio_token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        async with serving(*self._args) as api:
            self.api = api
            self.url = f"http://127.0.0.1:{api.port}"
            self.admin_token = api.token("admin")
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the REST server did not start within 30 s")
        return self

    def __exit__(self, *exc) -> None:
        trio.from_thread.run_sync(self._stop.set, trio_token=self._trio_token)
        self._thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory, snmpsim_agent):
    with ServerThread(tmp_path_factory.mktemp("rest"), snmpsim_agent, hash_password(PASSWORD)) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    # schemathesis 4.32 renames each operation's subtest through Node._nodeid, which pytest 9 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@CASES
def test_api_conforms_to_its_openapi_document(case, server):
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive and isinstance(case.body, dict) and "host" in case.body:
        case.body["host"] = "127.0.0.1"  # added devices get polled: keep that traffic on this machine
    # A rule's threshold type depends on its metric and its message template on known placeholders,
    # and a window's end must follow its start (rules, maintenance windows, anomaly jobs): the schema
    # cannot say so, the 422 names the field.
    semantic = case.path in ("/api/rules", "/api/rules/{id}", "/api/maintenance", "/api/ml/jobs")
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {server.admin_token}"},
        excluded_checks=[positive_data_acceptance] if semantic else None,
    )
    for secret in server.api.secrets:
        assert secret.encode() not in response.content
