"""The pages that compose every app: the tower (``tower``) and the campaign page
(``campaign``), plus the error pages."""

from .tower import not_found, server_error, topnav, tower

__all__ = ["not_found", "server_error", "topnav", "tower"]
