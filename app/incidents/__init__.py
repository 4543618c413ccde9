"""Dedupe and grouping, incident lifecycle, timeline, and the incident API."""
