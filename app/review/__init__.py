"""After the incident: post-mortem drafts, action items tracked to completion,
and response-time reports."""
