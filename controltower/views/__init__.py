"""The pages that compose every app: the tower (``tower``) and the campaign page
(``campaign``), plus the error pages."""

from .errors import not_found, permission_denied, server_error
from .tower import topnav, tower

__all__ = ["not_found", "permission_denied", "server_error", "topnav", "tower"]
