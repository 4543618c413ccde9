"""The paging set-up of tests/escalation (Klaxon under uvicorn, a fake Twilio on
loopback, a ManualClock), for the hostile-input scenarios."""

from tests.escalation.conftest import fake_twilio, paging

__all__ = ["fake_twilio", "paging"]
