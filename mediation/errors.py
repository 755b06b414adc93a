"""Domain errors raised by services and turned into French messages by views and the API."""


class DomainError(Exception):
    """A rule was broken; ``message`` is shown to the user as is (in French)."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or {}


class ValidationFailed(DomainError):
    status_code = 422


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409
