"""On-call schedules: who is on call at a given instant, computed from rotations."""

from app.oncall.rotation import (
    HORIZON,
    OVERRIDE_SOURCE,
    Layer,
    OnCall,
    Override,
    Restriction,
    Schedule,
    Shift,
    consecutive_oncall_warnings,
    render_shifts,
    validate_schedule,
    who_is_on_call,
)

__all__ = [
    "HORIZON",
    "OVERRIDE_SOURCE",
    "Layer",
    "OnCall",
    "Override",
    "Restriction",
    "Schedule",
    "Shift",
    "consecutive_oncall_warnings",
    "render_shifts",
    "validate_schedule",
    "who_is_on_call",
]
