"""Local users of the web dashboard: roles, Argon2 password hashes, who may do what."""

from noticedesk.users.registry import (
    ROLES,
    User,
    add_user,
    authenticate,
    find_user,
    list_users,
    may,
    remove_user,
    set_password,
)

__all__ = [
    "ROLES",
    "User",
    "add_user",
    "authenticate",
    "find_user",
    "list_users",
    "may",
    "remove_user",
    "set_password",
]
