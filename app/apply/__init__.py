"""The whole on-call document at once: ``klaxon apply -f`` and
``POST /api/v1/oncall-config``.

``config`` is its shape (responders, schedules, policies, heartbeats and
maintenance windows, each name once), ``document`` applies it (upserts after
checking every reference), ``prune`` removes what it no longer names, and
``endpoints`` is its route. It sits above the packages whose parts it gathers
(oncall, escalation, heartbeats, maintenance), so none of them imports it.
"""
