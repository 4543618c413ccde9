"""The on-call JSON API, one router: responders (app/oncall/responder_endpoints.py),
schedules, overrides and who is on call (schedule_endpoints.py). Escalation
policies are app/escalation/endpoints.py; the whole document at once is
app/apply/endpoints.py.

Changing who gets paged (responders, phones, schedules, policies) needs the
``config`` scope; ``write`` may take a shift (add an override, recorded with the
token's name) and remove the overrides it made."""

from __future__ import annotations

from fastapi import APIRouter

from app.oncall import responder_endpoints, schedule_endpoints

router = APIRouter()
router.include_router(responder_endpoints.router)
router.include_router(schedule_endpoints.router)
