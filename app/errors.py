"""One error type carrying its HTTP status and message, handled in one place."""

from __future__ import annotations


class KlaxonError(Exception):
    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class NotFound(KlaxonError):
    """No such thing (incident, responder, window, ...)."""

    status_code = 404


class Conflict(KlaxonError):
    """The thing's state forbids it (acknowledging a resolved incident, a name taken)."""

    status_code = 409


class Unauthorized(KlaxonError):
    """Not identified: no credentials, or ones that are not valid here."""

    status_code = 401


class Forbidden(KlaxonError):
    """Refused to this caller: a scope it lacks, a request not signed as it must be."""

    status_code = 403


class PayloadTooLarge(KlaxonError):
    status_code = 413


class Unavailable(KlaxonError):
    status_code = 503


class RateLimited(Unavailable):
    """Over the ingest rate limit: a 503 with ``Retry-After``, which webhook
    senders retry (Alertmanager gives up on any 4xx)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
