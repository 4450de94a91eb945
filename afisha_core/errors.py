"""Domain errors. Each carries a stable machine-readable ``code`` (listed in docs/api.md).

Adapters map these to their own transport: the HTTP server turns ``code`` into the
``code`` member of an RFC 9457 problem document and picks the status from ``status``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

__all__ = [
    "AfishaError",
    "CapacityTooLow",
    "DeliveryError",
    "EmailTaken",
    "EventFinished",
    "EventFull",
    "EventRejected",
    "FieldError",
    "Forbidden",
    "InvalidCode",
    "InvalidCredentials",
    "InvalidTotp",
    "NotAuthenticated",
    "NotFound",
    "PayloadTooLarge",
    "PermanentDeliveryError",
    "RateLimited",
    "RecoveryTokenInvalid",
    "RegistrationNotFound",
    "ServiceUnavailable",
    "SystemUserProtected",
    "TemporaryDeliveryError",
    "TooManyAttempts",
    "TotpAlreadyEnabled",
    "TotpNotEnabled",
    "TotpRequired",
    "TotpSetupRequired",
    "UnsupportedMediaType",
    "UsernameTaken",
    "ValidationFailed",
    "WeakPassword",
    "WrongCurrentPassword",
]


class AfishaError(Exception):
    """Base of every error the core raises on purpose.

    ``code`` is stable and snake_case; ``status`` is the HTTP status the bundled server
    answers with (other adapters may ignore it).
    """

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    default_detail: ClassVar[str] = "The request could not be completed."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class FieldError:
    """One field that failed validation: a human-readable message and a stable ``code``.

    ``code`` (``"required"``, ``"too_long"``, ``"before_start"``, ...) never changes with
    the language; ``message`` is the English text (adapters translate it by ``code``).
    """

    __slots__ = ("code", "field", "message")

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        self.field = field
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.message!r}, {self.code!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FieldError)
            and other.field == self.field
            and other.message == self.message
            and other.code == self.code
        )

    def __hash__(self) -> int:
        return hash((self.field, self.message, self.code))


class ValidationFailed(AfishaError):
    """Input broke a rule; ``errors`` names each offending field."""

    code = "validation_error"
    status = 422
    default_detail = "The input is not valid."

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        self.errors = list(errors)
        if detail is None:
            detail = "; ".join(f"{e.field}: {e.message}" for e in self.errors) or None
        super().__init__(detail)

    @classmethod
    def single(cls, field: str, message: str, *, code: str = "invalid") -> ValidationFailed:
        """Build the error for one field."""
        return cls([FieldError(field, message, code)])


class WeakPassword(ValidationFailed):
    """The password does not meet the password policy."""

    code = "weak_password"

    def __init__(self, message: str, field: str = "password") -> None:
        super().__init__([FieldError(field, message, "weak_password")], message)


class InvalidCredentials(AfishaError):
    """Login or password is wrong; deliberately says nothing about which."""

    code = "invalid_credentials"
    status = 401
    default_detail = "The login or the password is wrong."


class WrongCurrentPassword(InvalidCredentials):
    """A signed-in caller gave a wrong current password (to change it, or to delete).

    Same ``code`` as :class:`InvalidCredentials`, but 403: the caller's session is
    fine, and clients treat a 401 as "my token is dead, log out".
    """

    status = 403
    default_detail = "The current password is wrong."


class TotpRequired(AfishaError):
    """The password was right, but the account needs a TOTP code (or a recovery code) too."""

    code = "totp_required"
    status = 401
    default_detail = "This account needs a one-time code from its authenticator app."


class InvalidTotp(AfishaError):
    """The one-time code (or recovery code) is wrong, or was already used."""

    code = "invalid_totp"
    status = 401
    default_detail = "The one-time code is wrong or was already used."


class TotpAlreadyEnabled(AfishaError):
    """Two-factor login is already on for this account (disable it first)."""

    code = "totp_already_enabled"
    status = 409
    default_detail = "Two-factor login is already enabled."


class TotpNotEnabled(AfishaError):
    """There is no TOTP enrolment to confirm or disable."""

    code = "totp_not_enabled"
    status = 409
    default_detail = "Two-factor login is not enabled (or was not started)."


class TotpSetupRequired(AfishaError):
    """The deployment requires administrators to use two-factor login, and this one does not."""

    code = "totp_setup_required"
    status = 403
    default_detail = "Administrators must enable two-factor login first."


class NotAuthenticated(AfishaError):
    """No valid session: missing, unknown, revoked or expired token."""

    code = "not_authenticated"
    status = 401
    default_detail = "A valid session token is required."


class Forbidden(AfishaError):
    """The caller is authenticated but lacks the role for this action."""

    code = "forbidden"
    status = 403
    default_detail = "You are not allowed to do this."


class NotFound(AfishaError):
    """The object does not exist or the caller may not see it."""

    code = "not_found"
    status = 404
    default_detail = "Not found."


class RegistrationNotFound(AfishaError):
    """The registration token is unknown, expired, used or dead."""

    code = "registration_not_found"
    status = 404
    default_detail = "The registration does not exist or has expired."


class InvalidCode(AfishaError):
    """The verification code is wrong."""

    code = "invalid_code"
    status = 422
    default_detail = "The verification code is wrong."

    def __init__(self, attempts_left: int) -> None:
        self.attempts_left = attempts_left
        super().__init__(f"The verification code is wrong; {attempts_left} attempt(s) left.")


class TooManyAttempts(AfishaError):
    """Too many wrong codes: the registration is dead."""

    code = "too_many_attempts"
    status = 409
    default_detail = "Too many wrong codes; start the registration again."


class EmailTaken(AfishaError):
    """A live user already has this email."""

    code = "email_taken"
    status = 409
    default_detail = "This email is already in use."


class UsernameTaken(AfishaError):
    """A live user already has this username."""

    code = "username_taken"
    status = 409
    default_detail = "This username is already taken."


class RecoveryTokenInvalid(AfishaError):
    """The recovery token is unknown, used, expired or its user is gone."""

    code = "recovery_token_invalid"
    status = 404
    default_detail = "The recovery link is invalid or has expired."


class EventFull(AfishaError):
    """No spot is left and the caller did not ask to wait."""

    code = "event_full"
    status = 409
    default_detail = "The event is full."


class EventRejected(AfishaError):
    """The event was cancelled."""

    code = "event_rejected"
    status = 409
    default_detail = "The event was cancelled."


class EventFinished(AfishaError):
    """The event has already ended."""

    code = "event_finished"
    status = 409
    default_detail = "The event has already ended."


class CapacityTooLow(AfishaError):
    """The new capacity is below the number of people already participating."""

    code = "capacity_too_low"
    status = 409
    default_detail = "The capacity cannot be lower than the number of participants."


class SystemUserProtected(AfishaError):
    """A system user cannot be deleted or demoted."""

    code = "system_user"
    status = 409
    default_detail = "A system user cannot be deleted or demoted."


class PayloadTooLarge(AfishaError):
    """The uploaded content is over the size cap."""

    code = "payload_too_large"
    status = 413
    default_detail = "The content is too large."


class UnsupportedMediaType(AfishaError):
    """The content is not one of the accepted types (checked by magic bytes)."""

    code = "unsupported_media_type"
    status = 415
    default_detail = "This content type is not supported."


class RateLimited(AfishaError):
    """Too many attempts; try again after ``retry_after``."""

    code = "rate_limited"
    status = 429
    default_detail = "Too many requests; try again later."

    def __init__(self, retry_after: timedelta, detail: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


class ServiceUnavailable(AfishaError):
    """A backing service (database, rate limiter, storage, mailer) cannot be reached.

    Adapters raise it (or a subclass) so the HTTP layer can answer 503 with
    ``Retry-After`` instead of 500. ``service`` names the backing service.
    """

    code = "service_unavailable"
    status = 503
    default_detail = "A backing service is unavailable; try again later."

    def __init__(
        self,
        service: str,
        detail: str | None = None,
        retry_after: timedelta = timedelta(seconds=5),
    ) -> None:
        self.service = service
        self.retry_after = retry_after
        super().__init__(detail or f"The {service} is unavailable; try again later.")


class DeliveryError(Exception):
    """A Mailer could not deliver an email (not an :class:`AfishaError`: no client sees it)."""


class TemporaryDeliveryError(DeliveryError):
    """Delivery failed but may succeed later: the outbox retries with backoff."""


class PermanentDeliveryError(DeliveryError):
    """Delivery was refused for good (e.g. SMTP 5xx): the outbox gives up on the message."""
