"""Alertmanager's silence API (v2), through httpx. Never raises.

Pitfalls this module knows:

* an HA pair gossips silences, so a silence goes to the first Alertmanager that
  answers (in ``KLAXON_ALERTMANAGER_URLS`` order); one that cannot be reached or
  answers 5xx sends the request on to the next;
* posting a silence with the ``id`` of an existing one updates it, but
  Alertmanager answers with a new id when the change cannot be made in place
  (new matchers, a start moved): the id answered is the one to keep;
* an id Alertmanager no longer knows (garbage-collected, or an Alertmanager
  whose data was lost) is a 404: the silence is then created afresh;
* expiring a silence that has already expired is an error there: the same
  outcome as success here;
* a 4xx other than those (a matcher it refuses) is final: retrying cannot help.

Every call is bounded by ``KLAXON_ALERTMANAGER_TIMEOUT``; whether a failure is
worth retrying is decided here, where it is understood (``Outcome.retryable``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from app.metrics import ALERTMANAGER_REQUESTS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    silence_id: str | None = None
    retryable: bool = False
    error: str | None = None
    data: Any = None


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def silence_body(
    matchers: list[dict[str, Any]],
    starts_at: datetime,
    ends_at: datetime,
    comment: str,
    silence_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "matchers": matchers,
        "startsAt": _stamp(starts_at),
        "endsAt": _stamp(ends_at),
        "createdBy": "klaxon",
        "comment": comment,
    }
    if silence_id is not None:
        body["id"] = silence_id
    return body


class AlertmanagerClient:
    def __init__(self, urls: list[str], timeout: float) -> None:
        self.urls = urls
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout), trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, path: str, *, json: Any = None, params: Any = None
    ) -> tuple[httpx.Response | None, str]:
        """The first answer below 500 from the Alertmanagers in order, or None
        and why none gave one."""
        problems: list[str] = []
        for url in self.urls:
            try:
                response = await self._http.request(method, url + path, json=json, params=params)
            except httpx.HTTPError as exc:
                ALERTMANAGER_REQUESTS.labels(method, "unreachable").inc()
                problems.append(f"{url}: {type(exc).__name__}")
                continue
            if response.status_code >= 500 and "already expired" not in response.text:
                ALERTMANAGER_REQUESTS.labels(method, "5xx").inc()
                problems.append(f"{url}: HTTP {response.status_code}")
                continue
            ALERTMANAGER_REQUESTS.labels(method, str(response.status_code // 100) + "xx").inc()
            return response, ""
        return None, "; ".join(problems) or "no Alertmanager configured"

    async def put_silence(self, body: dict[str, Any]) -> Outcome:
        """Create (or update, with ``id``) a silence; its id in the outcome."""
        response, why = await self._call("POST", "/api/v2/silences", json=body)
        if response is not None and response.status_code == 404 and "id" in body:
            # Alertmanager forgot it: make it again.
            fresh = {k: v for k, v in body.items() if k != "id"}
            response, why = await self._call("POST", "/api/v2/silences", json=fresh)
        if response is None:
            return Outcome(ok=False, retryable=True, error=why)
        if response.status_code != 200:
            return Outcome(ok=False, error=f"HTTP {response.status_code}: {response.text[:300]}")
        try:
            silence_id = str(response.json()["silenceID"])
        except (ValueError, KeyError, TypeError):
            return Outcome(ok=False, retryable=True, error="answer without a silenceID")
        return Outcome(ok=True, silence_id=silence_id)

    async def expire_silence(self, silence_id: str) -> Outcome:
        response, why = await self._call("DELETE", f"/api/v2/silence/{silence_id}")
        if response is None:
            return Outcome(ok=False, retryable=True, error=why)
        if response.status_code in (200, 404) or "already expired" in response.text:
            return Outcome(ok=True, silence_id=silence_id)
        return Outcome(ok=False, error=f"HTTP {response.status_code}: {response.text[:300]}")

    async def alerts(self, filters: list[str]) -> Outcome:
        """``GET /api/v2/alerts`` with matcher filters (for the resolution poll)."""
        response, why = await self._call("GET", "/api/v2/alerts", params={"filter": filters})
        if response is None:
            return Outcome(ok=False, retryable=True, error=why)
        if response.status_code != 200:
            return Outcome(ok=False, error=f"HTTP {response.status_code}: {response.text[:300]}")
        return Outcome(ok=True, data=response.json())
