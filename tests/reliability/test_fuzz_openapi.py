"""Fuzzing: schemathesis drives every operation of the service's own /openapi.json.

On both stores, a few hundred generated requests per store (valid and invalid,
random symbols and real ones) must never get a 5xx, every response must match the
documented status codes, content types, headers and body schema, and every error
must be RFC 9457 problem+json. Every check runs, "schema-valid data is accepted"
included: the document describes exactly what the server accepts (ADR 0023), so a
request it allows is answered (200, or 404/409 when the symbol's data cannot), and
one it refuses gets a 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import BaseSchema, Case, GenerationMode

if TYPE_CHECKING:
    from tests.reliability.conftest import Server, ServerFactory

pytestmark = pytest.mark.system

PROBLEM_JSON = "application/problem+json"
EXAMPLES_PER_OPERATION = 80  # x 5 parameterised operations: ~400 requests per store
KNOWN_SYMBOLS = ("DEMO-ALPHA", "DEMO-BETA-1M")  # daily bars, minute bars


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def fuzzed_server(request: pytest.FixtureRequest, serve: ServerFactory) -> Iterator[Server]:
    database_url: str = request.getfixturevalue(f"demo_{request.param}_url")
    server = serve(database_url)
    yield server
    assert server.stop() == 0, server.output()


def case_strategy(operation: schemathesis.APIOperation) -> st.SearchStrategy[Case]:
    """Valid and invalid requests; for symbol paths (and ``symbols`` lists), half of them
    name stored symbols."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if "{symbol}" in operation.path:
        strategies += [
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"symbol": symbol})
            for symbol in KNOWN_SYMBOLS
        ]
    if any(parameter.name == "symbols" for parameter in operation.query):
        strategies += [
            operation.as_strategy(GenerationMode.POSITIVE, query={"symbols": symbols})
            for symbols in (*KNOWN_SYMBOLS, ",".join(KNOWN_SYMBOLS), "*")
        ]
    return st.one_of(strategies)


def fuzz(operation: schemathesis.APIOperation, server: Server, session: requests.Session) -> int:
    """Run the generated cases of one operation; the number of cases sent."""
    sent = 0

    @given(case=case_strategy(operation))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Case) -> None:
        nonlocal sent
        sent += 1
        response = case.call_and_validate(base_url=server.base_url, session=session, timeout=30)
        assert response.status_code < 500, f"{case.as_curl_command()}\n{response.text}"
        if response.status_code >= 400:
            (content_type,) = response.headers["content-type"]  # lower-case keys, list values
            assert content_type.startswith(PROBLEM_JSON), case.as_curl_command()
            body = response.json()
            assert body["status"] == response.status_code
            assert body["title"]

    check()
    return sent


def test_given_the_services_own_openapi_when_fuzzing_every_operation_then_all_answers_conform(
    fuzzed_server: Server,
) -> None:
    # GIVEN
    schema: BaseSchema = schemathesis.openapi.from_url(f"{fuzzed_server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    sent: dict[str, int] = {}
    failures: dict[str, str] = {}
    # WHEN: every operation is fuzzed, even after another one failed
    with requests.Session() as session:
        for operation in operations:
            try:
                sent[operation.label] = fuzz(operation, fuzzed_server, session)
            except (AssertionError, BaseExceptionGroup) as failure:
                failures[operation.label] = str(failure)[:3000]
    # THEN
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
    assert {
        "GET /stocks/time-series/{symbol}",
        "GET /stocks/indicators/{symbol}",
        "GET /stocks/calendar",
        "GET /stocks/clock",
        "GET /stocks/coverage/{symbol}",
        "GET /stocks/bars",
        "GET /stocks/indicators",
    } <= set(sent)
    assert sum(sent.values()) >= 200, sent
    assert fuzzed_server.process.poll() is None, fuzzed_server.output()
