"""The core's HOTP/TOTP against the RFCs' own test vectors and an independent implementation."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from afisha_core.totp import (
    b32decode,
    b32encode,
    hotp,
    new_secret,
    otpauth_uri,
    time_step,
    totp,
    verify_totp,
)

# RFC 4226, appendix D: the secret "12345678901234567890" and counters 0..9.
RFC4226_SECRET = b"12345678901234567890"
RFC4226_VALUES = [
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
]  # fmt: skip

# RFC 6238, appendix B: the seed of each algorithm, times, and the 8-digit values.
RFC6238_SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_VECTORS = [
    (59, "SHA1", "94287082"),
    (59, "SHA256", "46119246"),
    (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"),
    (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"),
    (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"),
    (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"),
    (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"),
    (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"),
    (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"),
    (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226_VALUES)))
def test_hotp_matches_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert hotp(RFC4226_SECRET, counter) == expected


@pytest.mark.parametrize(("unix", "algorithm", "expected"), RFC6238_VECTORS)
def test_totp_matches_rfc6238_appendix_b(unix: int, algorithm: str, expected: str) -> None:
    at = datetime.fromtimestamp(unix, UTC)
    value = totp(RFC6238_SEEDS[algorithm], at, digits=8, algorithm=algorithm)  # type: ignore[arg-type]
    assert value == expected


def test_agrees_with_pyotp_on_random_secrets_and_times() -> None:
    rng = random.Random(6238)  # noqa: S311 - test data, not a secret
    for _ in range(500):
        secret = b32encode(rng.randbytes(20))
        unix = rng.randrange(0, 4_000_000_000)
        at = datetime.fromtimestamp(unix, UTC)
        assert totp(b32decode(secret), at) == pyotp.TOTP(secret).at(unix)


def test_a_code_from_pyotp_is_accepted_within_one_step_either_side_only() -> None:
    secret = new_secret()
    now = datetime(2030, 1, 1, 12, 0, 10, tzinfo=UTC)
    unix = int(now.timestamp())
    reference = pyotp.TOTP(secret)
    assert verify_totp(secret, reference.at(unix), now) == time_step(now)
    assert verify_totp(secret, reference.at(unix - 30), now) == time_step(now) - 1
    assert verify_totp(secret, reference.at(unix + 30), now) == time_step(now) + 1
    for far in (-90, -60, 60, 90):
        code = reference.at(unix + far)
        if code not in {reference.at(unix + d) for d in (-30, 0, 30)}:
            assert verify_totp(secret, code, now) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", " 123456"])
def test_malformed_codes_never_match(code: str) -> None:
    assert verify_totp(new_secret(), code, datetime(2030, 1, 1, tzinfo=UTC)) is None


def test_new_secrets_are_160_bit_base32_and_differ() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert len(b32decode(secret)) == 20
        assert secret == secret.upper()
        assert "=" not in secret


def test_the_otpauth_uri_is_read_by_pyotp_as_the_same_generator() -> None:
    secret = new_secret()
    uri = otpauth_uri(secret, account="ann@example.org", issuer="Afisha Events")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == secret
    assert parsed.issuer == "Afisha Events"
    assert parsed.name == "ann@example.org"
    assert parsed.digits == 6
    assert parsed.interval == 30
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth"
    assert parts.netloc == "totp"
    assert parse_qs(parts.query)["algorithm"] == ["SHA1"]
    later = 1_900_000_000
    assert parsed.at(later) == totp(b32decode(secret), datetime.fromtimestamp(later, UTC))


def test_b32decode_refuses_what_is_not_base32() -> None:
    with pytest.raises(ValueError, match="base32"):
        b32decode("not base32 at all!")
