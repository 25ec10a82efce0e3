"""Schemathesis fuzzes every operation of the OpenAPI schema in process, staff token set.

Each operation gets `MAX_EXAMPLES` schema-valid and as many schema-violating requests,
generated from a fixed seed. Every response must be free of 5xx, conform to the documented
schema, status codes, content types and headers, carry the error envelope when it is an
error, and leak no traceback or server path. Figures go to test-artifacts/security-fuzz.json.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib.metadata import version
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
)
from schemathesis.core.result import Err
from schemathesis.errors import FailureGroup

from tests.conftest import ROOT
from tests.security.conftest import assert_no_leak
from tests.service.conftest import AUTH, MakeClient

# ~50 per operation and mode keeps the whole run under ten seconds on 2 cores.
MAX_EXAMPLES = 50
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run and machine
    database=None,
    suppress_health_check=list(HealthCheck),
)
# Checks that do not apply to one operation, each with the reason.
EXCLUDED: dict[str, tuple[Any, str]] = {
    "POST /v1/documents": (
        positive_data_acceptance,
        "a schema cannot say that a file must be a readable .txt/.md/.html/.pdf with text "
        "left after cleaning (400/415 by design), and multipart sends a null field as 'null'",
    ),
    "GET /v1/search": (
        negative_data_rejection,
        "schemathesis counts `kind=true` as a boolean, but every query value is a string",
    ),
}
# Schemathesis' checks that this suite must never switch off.
REQUIRED = (not_a_server_error, response_schema_conformance)
ARTIFACT = ROOT / "test-artifacts" / "security-fuzz.json"


def fuzz(operation: Any, mode: GenerationMode, tally: Counter[str]) -> str | None:
    """Run one operation's cases in one mode; return the (shrunk) failure, if any."""
    excluded = [EXCLUDED[operation.label][0]] if operation.label in EXCLUDED else []
    assert not set(excluded) & set(REQUIRED)

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(headers=AUTH)
        tally[f"{operation.label} {mode.value} {response.status_code}"] += 1
        assert_no_leak(response.text)
        if response.status_code >= 400:
            error = response.json()["error"]
            assert isinstance(error["code"], str) and isinstance(error["message"], str)
        case.validate_response(response, headers=AUTH, excluded_checks=excluded)

    try:
        run()
    except (Exception, FailureGroup) as err:
        return str(err)
    return None


@pytest.mark.slow  # ~12 s on 2 cores
def test_fuzzing_every_operation_finds_no_error_leak_or_schema_break(
    make_client: MakeClient,
) -> None:
    client: TestClient = make_client()  # started: its lifespan has loaded the engine
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    tally: Counter[str] = Counter()
    failures, operations = [], []
    for result in schema.get_all_operations():
        assert not isinstance(result, Err), result.err()
        operation = result.ok()
        operations.append(operation.label)
        takes_input = bool(list(operation.iter_parameters()))
        takes_input = takes_input or bool(operation.get_request_payload_content_types())
        # An operation without parameters or body has no invalid request to generate.
        modes = list(GenerationMode) if takes_input else [GenerationMode.POSITIVE]
        for mode in modes:
            failure = fuzz(operation, mode, tally)
            if failure is not None:
                failures.append(f"{operation.label} ({mode.value}):\n{failure}")

    ARTIFACT.parent.mkdir(exist_ok=True)
    statuses = Counter(key.rsplit(" ", 1)[1] for key in tally.elements())
    figures = {
        "schemathesis": version("schemathesis"),
        "operations": len(operations),
        "cases": sum(tally.values()),
        "statuses": dict(sorted(statuses.items())),
        "by_operation": dict(sorted(tally.items())),
        "failures": len(failures),
    }
    ARTIFACT.write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
    assert not failures, "\n\n".join(failures)
    assert len(operations) == 9, operations  # a new route is fuzzed too: update the count
    assert not [s for s in statuses if s.startswith("5")]
    assert sum(tally.values()) >= 9 * MAX_EXAMPLES, figures
