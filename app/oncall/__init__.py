"""On-call: responders, schedules, rotation and who is on call.

``rotation`` computes who is on call (pure; its parts in ``schedule_types`` and
``layers``), ``fatigue`` warns of over-long stretches, ``schemas`` are the
declarative forms, ``store`` the tables (``responder_store``, ``schedule_store``,
``policies``; typed rows in ``rows``), ``endpoints`` the JSON API. The whole
``klaxon apply`` document is app/apply/.
"""
