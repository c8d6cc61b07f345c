"""Use cases: every view, CLI command and task goes through these."""


class ServiceError(Exception):
    """A use case refused: ``message`` is shown to the user; ``field`` names the input at fault."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The object does not exist or the caller may not know that it exists (no existence leak)."""

    status = 404


class Conflict(ServiceError):
    status = 409


class RateLimited(ServiceError):
    status = 429
