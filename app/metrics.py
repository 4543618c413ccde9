"""Prometheus metrics, exported at /metrics.

With several uvicorn workers (``KLAXON_WORKERS`` > 1) each worker counts in
its own process. ``klaxon serve`` then gives them a fresh shared directory
(``PROMETHEUS_MULTIPROC_DIR``, set before the workers start, as
prometheus-client requires) where every worker keeps its values, and a scrape
answered by any worker adds them all up (:func:`exposition`): one scrape shows
the whole server. A worker that stops takes its live gauges with it
(:func:`forget_this_process`); its counters stay counted.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Where the workers of one server keep their values (prometheus-client's name),
# defined where ``klaxon serve`` reads it without importing prometheus-client.
from app.settings import MULTIPROC_DIR_ENV

ALERTS_RECEIVED = Counter(
    "klaxon_alerts_received_total", "Alerts received, by source and status", ["source", "status"]
)
ALERTS_DEDUPLICATED = Counter(
    "klaxon_alerts_deduplicated_total",
    "Alerts that repeated a stored episode (no new alert or incident)",
    ["source"],
)
ALERTS_STALE = Counter(
    "klaxon_alerts_stale_total",
    "Alert updates older than the stored state, recorded and otherwise ignored",
    ["source"],
)
INCIDENTS_OPENED = Counter(
    "klaxon_incidents_opened_total", "Incidents opened, by severity", ["severity"]
)
# Read from the database at each scrape by whichever worker answers it: the
# latest value of a live worker is the server's.
OPEN_INCIDENTS = Gauge(
    "klaxon_open_incidents",
    "Incidents not resolved, by status",
    ["status"],
    multiprocess_mode="livemostrecent",
)
WEBHOOK_LATENCY = Histogram(
    "klaxon_webhook_duration_seconds",
    "Time to accept a webhook, from request to committed answer",
    ["source", "code"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
NOTIFICATIONS = Counter(
    "klaxon_notifications_total",
    "Notifications by channel and outcome (sent, retrying, failed)",
    ["channel", "outcome"],
)
OUTBOUND = Counter(
    "klaxon_outbound_total",
    "Outgoing chat posts, webhooks and actions by kind and outcome (sent, retrying, failed)",
    ["kind", "outcome"],
)
DELIVERIES = Counter(
    "klaxon_notification_deliveries_total",
    "Delivery states reported by Twilio's status callbacks",
    ["channel", "status"],
)
TIME_TO_ACKNOWLEDGE = Histogram(
    "klaxon_time_to_acknowledge_seconds",
    "From incident opened to acknowledged",
    ["severity"],
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400),
)
TIME_TO_RESOLVE = Histogram(
    "klaxon_time_to_resolve_seconds",
    "From incident opened to resolved (by a person or by its alerts)",
    ["severity"],
    buckets=(60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 259200),
)
STEP_LAG = Histogram(
    "klaxon_escalation_step_lag_seconds",
    "From an escalation step's due time to when it fired",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
INGEST_THROTTLED = Counter(
    "klaxon_ingest_throttled_total",
    "Requests refused by the per-token ingest rate limit (the sender retries them)",
    ["endpoint"],
)
POLICY_MISSING = Counter(
    "klaxon_escalation_policy_missing_total",
    "Escalations whose policy does not exist (paged through 'default' instead, if it exists)",
    ["policy"],
)
UNPAGED = Counter(
    "klaxon_unpaged_incidents_total",
    "Escalation steps that paged nobody (no policy, nobody on call, no channel)",
    ["reason"],
)
SMS_REPLIES_SUPPRESSED = Counter(
    "klaxon_sms_replies_suppressed_total",
    "Inbound texts left unanswered: from a number that is no responder's, or not understood "
    "from one that already had its answers this hour",
    ["reason"],
)

REPLAYED_CALLBACKS = Counter(
    "klaxon_twilio_callbacks_replayed_total",
    "Texts and keypresses from Twilio already acted on (a retry or a replay), answered without"
    " acting again",
)

# Auto-remediation (app/automation): each request to an executor or a webhook
# receiver, by outcome (2xx, 4xx, 5xx, timeout, unreachable, no_secret, not_signed),
# and the incidents whose alerts resolved within an action step's wait.
AUTOMATION_REQUESTS = Counter(
    "klaxon_automation_requests_total",
    "Requests to action executors and webhook receivers, by kind, action or host, and outcome",
    ["kind", "target", "outcome"],
)
ACTIONS_FIXED = Counter(
    "klaxon_actions_fixed_total",
    "Incidents whose alerts resolved within an action step's wait, before the next step",
    ["action"],
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_ENV) or None


def exposition() -> bytes:
    """The metrics in Prometheus's text format: this process's, or with several
    workers every worker's, summed (counters, histograms) or latest (gauges)."""
    if multiprocess_dir() is None:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def forget_this_process() -> None:
    """Drop this worker's live gauges as it stops (its counters stay counted)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


# Maintenance windows and silences (app/maintenance): set by each reconciliation.
MAINTENANCE_WINDOWS_ACTIVE = Gauge(
    "klaxon_maintenance_windows_active",
    "Maintenance windows with an occurrence in force",
    multiprocess_mode="livemostrecent",
)
SILENCES_ACTIVE = Gauge(
    "klaxon_silences_active",
    "Silences Klaxon holds in Alertmanager that are in force, by what they mirror",
    ["kind"],
    multiprocess_mode="livemostrecent",
)
SILENCES_PENDING = Gauge(
    "klaxon_silences_pending",
    "Silences still to be created, updated or expired in Alertmanager",
    multiprocess_mode="livemostrecent",
)
ALERTMANAGER_REQUESTS = Counter(
    "klaxon_alertmanager_requests_total",
    "Requests to Alertmanager's API, by method and outcome (2xx, 4xx, 5xx, unreachable)",
    ["method", "outcome"],
)
