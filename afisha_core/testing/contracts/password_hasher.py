"""The contract every :class:`~afisha_core.ports.PasswordHasher` adapter passes."""

from __future__ import annotations

import pytest

from afisha_core.ports import PasswordHasher

__all__ = ["PasswordHasherContract"]

MALFORMED_HASHES = [
    "",
    "not a hash",
    "$",
    "$$$",
    "correct horse battery staple",
    "$argon2id$v=19$m=19456,t=2,p=1$",
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$!!!not-base64!!!",
    "fake$$",
    "fake$zz$zz",
    "\x00\x01\x02",
    "пароль",
]


class PasswordHasherContract:
    """Salted hashing and verification as :class:`~afisha_core.ports.PasswordHasher` says.

    Subclass it in a ``Test...`` class that provides a fixture ``hasher`` returning
    the adapter under test (sync or async).
    """

    pytestmark = pytest.mark.asyncio

    async def test_the_hash_does_not_contain_the_password(self, hasher: PasswordHasher) -> None:
        """The hash is a string that does not reveal the password."""
        password = "correct horse battery staple"

        password_hash = await hasher.hash(password)

        assert isinstance(password_hash, str)
        assert password_hash != password
        assert password not in password_hash

    async def test_two_hashes_of_one_password_differ(self, hasher: PasswordHasher) -> None:
        """Hashing one password twice gives two hashes (a random salt)."""
        first = await hasher.hash("s3cret-Passw0rd")
        second = await hasher.hash("s3cret-Passw0rd")
        assert first != second

    async def test_verify_accepts_the_password(self, hasher: PasswordHasher) -> None:
        """The password verifies against its hash."""
        password_hash = await hasher.hash("s3cret-Passw0rd")
        assert await hasher.verify(password_hash, "s3cret-Passw0rd") is True

    async def test_verify_rejects_other_passwords(self, hasher: PasswordHasher) -> None:
        """Near misses, the empty string and the hash itself do not verify."""
        password_hash = await hasher.hash("s3cret-Passw0rd")
        for wrong in ["s3cret-passw0rd", "s3cret-Passw0rd ", "", "s3cret-Passw0r", password_hash]:
            assert await hasher.verify(password_hash, wrong) is False, wrong

    async def test_each_hash_verifies_only_its_own_password(self, hasher: PasswordHasher) -> None:
        """A hash does not verify the password of another hash."""
        first = await hasher.hash("first password")
        second = await hasher.hash("second password")
        assert await hasher.verify(first, "second password") is False
        assert await hasher.verify(second, "first password") is False
        assert await hasher.verify(second, "second password") is True

    @pytest.mark.parametrize("malformed", MALFORMED_HASHES)
    async def test_verify_of_a_malformed_hash_is_false(
        self, hasher: PasswordHasher, malformed: str
    ) -> None:
        """A malformed hash verifies nothing, and raises nothing."""
        assert await hasher.verify(malformed, "s3cret-Passw0rd") is False
        assert await hasher.verify(malformed, malformed) is False

    async def test_a_truncated_hash_does_not_verify(self, hasher: PasswordHasher) -> None:
        """A truncated hash verifies nothing."""
        password_hash = await hasher.hash("s3cret-Passw0rd")
        assert await hasher.verify(password_hash[:-4], "s3cret-Passw0rd") is False

    @pytest.mark.parametrize(
        "password",
        [
            "пароль-Ёжик-2024",
            "密码🔑 with emoji",
            "e\u0301tude",
            "x" * 1000,
        ],
    )
    async def test_unicode_and_long_passwords(self, hasher: PasswordHasher, password: str) -> None:
        """Non-ASCII and long passwords verify, and differ from their prefixes."""
        password_hash = await hasher.hash(password)
        assert await hasher.verify(password_hash, password) is True
        assert await hasher.verify(password_hash, password[:-1]) is False

    async def test_a_fresh_hash_needs_no_rehash(self, hasher: PasswordHasher) -> None:
        """A hash just made with the current parameters needs no rehash."""
        password_hash = await hasher.hash("s3cret-Passw0rd")
        assert hasher.needs_rehash(password_hash) is False
