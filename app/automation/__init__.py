"""Auto-remediation: actions that escalation steps run before anyone is paged
(app/automation/steps.py), sent signed through the outbound queue
(app/automation/send.py)."""
