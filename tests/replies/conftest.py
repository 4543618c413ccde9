"""Replies are tested through the paging harness: a fake Twilio calls Klaxon back."""

from tests.paging import fake_twilio, paging

__all__ = ["fake_twilio", "paging"]
