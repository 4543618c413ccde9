"""Incident response: declared incidents, triage, status updates, stakeholders,
runbooks and on-call handoffs."""
