"""The paging fixtures of tests/escalation (a Klaxon wired to a fake Twilio,
its engine driven by the test's clock), for the tests here that page."""

from tests.escalation.conftest import fake_twilio, paging

__all__ = ["fake_twilio", "paging"]
