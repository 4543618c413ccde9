"""Heartbeat monitors (dead man's switches): a ping is expected every interval;
when none comes within interval + grace, an alert fires through the normal
rules, and the next ping resolves it. The expiry is a durable timer that the
worker runs (``app.heartbeats.expiry``, app/worker.py)."""
