"""Incidents: lifecycle (acknowledge, resolve), queries, and the incident API."""
