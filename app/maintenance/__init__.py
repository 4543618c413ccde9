"""Maintenance windows and the silences Klaxon keeps in Alertmanager.

``windows`` is the pure part (occurrences of a window in its time zone, which
alerts it covers); ``schemas`` declares a window for the API and the apply file;
``store`` keeps them; ``quiet`` holds the paging of covered incidents;
``silences`` and ``sync`` mirror windows into Alertmanager as silences.
"""
