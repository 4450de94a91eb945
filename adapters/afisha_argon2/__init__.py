"""The argon2 adapter: a :class:`~afisha_core.ports.PasswordHasher` using argon2id.

>>> hasher = Argon2PasswordHasher()  # argon2id, m=19 MiB, t=2, p=1
>>> hasher.needs_rehash("not a hash")
True
"""

from afisha_argon2._hasher import Argon2PasswordHasher

__all__ = ["Argon2PasswordHasher"]
