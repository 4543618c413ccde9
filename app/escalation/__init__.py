"""Escalation policies and the durable engine that pages through them."""
