"""The roles people hold. Each is a Django group of the same name (made by a migration)."""

from enum import StrEnum


class Role(StrEnum):
    MANAGER = "Marketing Manager"
    LEGAL = "Legal Reviewer"
    ADMIN = "Admin"
