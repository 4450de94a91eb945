"""The contracts of the two small synchronous ports, Clock and TokenGenerator.

Both ports are synchronous, so these suites have no asyncio mark (pytest-asyncio
warns about a mark on a plain test function).
"""

from __future__ import annotations

import re
from datetime import timedelta

from afisha_core.ports import Clock, TokenGenerator

__all__ = ["ClockContract", "TokenGeneratorContract"]

_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")
_SIX_DIGITS = re.compile(r"[0-9]{6}")


class ClockContract:
    """Time as :class:`~afisha_core.ports.Clock` says: aware, UTC, never going back.

    Subclass it in a ``Test...`` class that provides a fixture ``clock`` returning
    the clock under test.
    """

    def test_now_is_timezone_aware_utc(self, clock: Clock) -> None:
        """The time is timezone-aware and in UTC."""
        now = clock.now()
        assert now.tzinfo is not None
        assert now.utcoffset() == timedelta(0)

    def test_now_never_goes_back(self, clock: Clock) -> None:
        """Successive readings never go back."""
        readings = [clock.now() for _ in range(200)]
        assert readings == sorted(readings)


class TokenGeneratorContract:
    """Secrets as :class:`~afisha_core.ports.TokenGenerator` says.

    Subclass it in a ``Test...`` class that provides a fixture ``tokens`` returning
    the generator under test. The statistical checks fail by chance with a
    probability far below 1e-30.
    """

    def test_a_token_is_url_safe_and_long_enough(self, tokens: TokenGenerator) -> None:
        """A token is URL-safe and long enough to hold 256 bits."""
        for _ in range(100):
            token = tokens.token()
            assert _URL_SAFE.fullmatch(token), token
            # 256 bits in unpadded base64url take 43 characters.
            assert len(token) >= 43, token

    def test_tokens_are_unique(self, tokens: TokenGenerator) -> None:
        """A thousand tokens are all different."""
        drawn = [tokens.token() for _ in range(1000)]
        assert len(set(drawn)) == len(drawn)

    def test_a_code_is_six_ascii_digits(self, tokens: TokenGenerator) -> None:
        """A code is exactly six ASCII digits."""
        for _ in range(200):
            code = tokens.code()
            assert isinstance(code, str)
            assert _SIX_DIGITS.fullmatch(code), code

    def test_codes_keep_their_leading_zeros(self, tokens: TokenGenerator) -> None:
        """Codes starting with 0 occur (a code is not an int formatted loosely)."""
        # One code in ten starts with 0; in 2000 draws none would with p = 0.9**2000.
        codes = [tokens.code() for _ in range(2000)]
        assert any(code.startswith("0") for code in codes)
        assert all(len(code) == 6 for code in codes)

    def test_codes_vary(self, tokens: TokenGenerator) -> None:
        """Codes are spread over the whole range, not repeated or skewed."""
        # 2000 draws from a million values repeat about twice on average.
        codes = [tokens.code() for _ in range(2000)]
        assert len(set(codes)) >= 1950
        assert {code[-1] for code in codes} == set("0123456789")
