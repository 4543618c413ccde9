"""Drills: Klaxon's promises under failure, each stated as tests."""
