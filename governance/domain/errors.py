"""Domain errors: each says, in words a user can act on, why something was refused."""


class DomainError(Exception):
    """A rule refused the request. ``str(error)`` is safe to show to the user."""


class TransitionNotAllowed(DomainError):
    pass


class ReasonRequired(DomainError):
    pass


class NotPermitted(DomainError):
    """The actor may not do this to this object (maps to 403/404 at the edges)."""
