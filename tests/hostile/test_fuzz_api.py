"""Schemathesis against the committed OpenAPI document: every operation, on both
databases, answers without a 5xx and as the document says (status code, content
type, headers, body schema).

The document is loaded from ``openapi/openapi.json``, not from the app, so what
is fuzzed is what clients are told. Requests go to a real uvicorn on 127.0.0.1
with the admin token. Twilio callbacks are signed as Twilio would sign them
(the admin token signs when Twilio is not configured), so the form handling
behind the signature check is fuzzed too, not only the 403.

Values at the edges of their range are drawn often, since that is where a
500 hides: date-times at the ends of the calendar (year 1 with a +14:00 offset,
year 9999) and of Klaxon's own range, and cursors around the largest id. The
document bounds every integer a request carries (checked below), and
hypothesis draws a bounded integer's ends.

Bounded and repeatable: a fixed number of examples per operation and mode,
derandomized, no example database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from twilio.request_validator import RequestValidator

from app.clock import ManualClock
from tests.conftest import ADMIN_TOKEN, empty_database, make_settings
from tests.hostile.server import klaxon_in_thread
from tests.paging import ONCALL

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
PUBLIC_URL = "https://klaxon.example.com"
# Examples per operation and generation mode: every operation is fuzzed on both
# databases, PostgreSQL (production's) the most, within the suite's time budget.
EXAMPLES = {
    "postgresql": {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8},
    "sqlite": {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 4},
}
CHECKS = [
    not_a_server_error,
    negative_data_rejection,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EDGE_DATE_TIMES = [
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2999-12-31T23:59:59Z",
    "3000-01-01T00:00:00Z",
]
OFFSETS = ["Z", "+14:00", "-12:00", "+05:45", "-00:30"]
ID_MAX = 2**31 - 1
EDGE_CURSORS = [str(ID_MAX), str(ID_MAX + 1), "9" * 20, "0", "00000000000000000001"]


def _date_times() -> st.SearchStrategy[str]:
    anywhere = st.builds(
        lambda at, offset: at.isoformat(timespec="seconds") + offset,
        st.datetimes(),
        st.sampled_from(OFFSETS),
    )
    return st.one_of(st.sampled_from(EDGE_DATE_TIMES), anywhere)


schemathesis.openapi.format("date-time", _date_times())
schemathesis.openapi.format(
    "klaxon-cursor",
    st.one_of(st.sampled_from(EDGE_CURSORS), st.integers(0, 10**20).map(str)),
)
SCHEMA = schemathesis.openapi.from_path(OPENAPI)


def _operations() -> list[Any]:
    found = []
    for result in SCHEMA.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # the committed document does not load
        found.append(result.ok())
    return found


OPERATIONS = _operations()


@pytest.fixture(scope="module", autouse=True)
def _hypothesis_files_outside_the_repository(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """database=None keeps no examples; this keeps hypothesis's caches out of the tree too."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(scope="module")
def klaxon(database_url: str) -> Iterator[str]:
    """Klaxon with something to find: the on-call set-up of the paging tests
    and an incident, so fuzzed names and numbers sometimes hit real rows."""
    settings = make_settings(database_url, public_url=PUBLIC_URL)
    with klaxon_in_thread(settings, ManualClock()) as url, requests.Session() as api:
        api.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        seeded = [
            api.post(f"{url}/api/v1/oncall-config", json=ONCALL, timeout=30),
            api.post(
                f"{url}/api/v1/incidents",
                json={"title": "Checkout down", "severity": "SEV2", "service": "checkout"},
                timeout=30,
            ),
        ]
        assert [r.status_code for r in seeded] == [200, 201], [r.text for r in seeded]
        yield url
    asyncio.run(empty_database(database_url))


def _send(case: Any, base_url: str, session: requests.Session) -> requests.Response:
    kwargs = case.as_transport_kwargs(
        base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    kwargs.pop("verify", None)
    request = session.prepare_request(requests.Request(**_request_args(kwargs)))
    if case.operation.path.startswith("/api/v1/twilio/"):
        _sign_like_twilio(request)
    return session.send(request, timeout=30, allow_redirects=False)


def _request_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    keep = {"method", "url", "headers", "files", "data", "params", "auth", "cookies", "json"}
    return {k: v for k, v in kwargs.items() if k in keep}


def _sign_like_twilio(request: requests.PreparedRequest) -> None:
    body = request.body or b""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    params = dict(parse_qsl(text, keep_blank_values=True))
    parts = urlsplit(request.url or "")
    url = PUBLIC_URL + unquote(parts.path) + (f"?{parts.query}" if parts.query else "")
    request.headers["X-Twilio-Signature"] = RequestValidator(ADMIN_TOKEN).compute_signature(
        url, params
    )


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_operation_answers_as_documented(operation: Any, klaxon: str, database_url: str) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    failures: list[str] = []
    with requests.Session() as session:
        for mode, examples in EXAMPLES[backend].items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                print_blob=False,
            )
            def run(case: Any) -> None:
                response = _send(case, klaxon, session)
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                # Nothing to make invalid: no parameters and no body.
                assert mode is GenerationMode.NEGATIVE, "no valid request could be generated"
            except Exception as exc:
                failures.append(f"{mode.value}: {exc}")
    assert not failures, "\n\n".join(failures)


def _unbounded_integers(node: Any, where: str, components: dict[str, Any]) -> Iterator[str]:
    """Where an integer a request carries has no minimum or maximum."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in components["_seen"]:
                components["_seen"].add(name)
                yield from _unbounded_integers(components[name], name, components)
        if node.get("type") == "integer" and not {"minimum", "maximum"} <= set(node):
            yield where
        for key, value in node.items():
            yield from _unbounded_integers(value, f"{where}/{key}", components)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _unbounded_integers(value, f"{where}[{i}]", components)


def test_every_integer_a_request_carries_is_bounded_in_the_document() -> None:
    """So the fuzzer draws each at its ends (a number past a 32-bit column was
    a 500 more than once)."""
    document = json.loads(OPENAPI.read_text())
    components = {**document["components"]["schemas"], "_seen": set()}
    # Webhook bodies carry their own definitions, referred to as components.
    for operations in document["paths"].values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                components.update(media["schema"].get("$defs", {}))
    unbounded: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            request = {
                "parameters": operation.get("parameters", []),
                "body": operation.get("requestBody", {}),
            }
            unbounded += _unbounded_integers(request, f"{method.upper()} {path}", components)
    assert unbounded == []
