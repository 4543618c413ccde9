"""Klaxon: alert ingestion and on-call escalation."""
