"""The password policy."""

from __future__ import annotations

from afisha_core.errors import WeakPassword

__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "check_password_strength"]

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
_COMMON = frozenset(
    {
        "password",
        "password1",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "qwerty123",
        "11111111",
        "00000000",
        "iloveyou",
        "abc12345",
        "letmein1",
        "admin123",
        "welcome1",
        "passw0rd",
        "sunshine",
        "football",
        "baseball",
        "princess",
        "monkey12",
        "dragon12",
        "trustno1",
        "superman",
        "qwerty12",
        "1q2w3e4r",
        "zaq12wsx",
        "йцукенгш",  # "qwertyui" typed on a Russian keyboard
        "пароль123",  # noqa: RUF001 - Russian for "password123": Cyrillic on purpose
    }
)


def check_password_strength(
    password: str, *, username: str | None = None, email: str | None = None, field: str = "password"
) -> None:
    """Raise :class:`WeakPassword` unless ``password`` follows the policy.

    At least 8 and at most 1024 characters, not only whitespace, not one repeated
    character, not one of the most common passwords, and not the username or email.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"must be at least {MIN_PASSWORD_LENGTH} characters long", field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"must be at most {MAX_PASSWORD_LENGTH} characters long", field)
    if not password.strip() or len(set(password)) == 1:
        raise WeakPassword("must not be a single repeated character", field)
    folded = password.casefold()
    if folded in _COMMON:
        raise WeakPassword("is one of the most common passwords", field)
    for other in (username, email):
        if other and folded == other.casefold():
            raise WeakPassword("must differ from your username and email", field)
