"""The ``afisha`` command's entry point, safe to import without the server's extras."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

INSTALL_HINT = "pip install 'afisha-server[server]'"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``afisha`` command; return its exit status.

    When a package the server needs is not installed (``afisha-server`` without the
    ``server`` extra), say which one and how to install it, and return 2: whether it
    is missing at start or when a command reaches for it (``afisha serve`` needs
    uvicorn; ``--help`` needs nothing).
    """
    try:
        from afisha_server.cli import main as run  # noqa: PLC0415 - may be missing

        return run(argv)
    except ModuleNotFoundError as exc:
        missing = exc.name or str(exc)
        print(
            f"afisha: the server needs the Python package {missing!r}, which is not "
            f"installed.\nInstall the server with its dependencies: {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover - `python -m afisha_server.command`
    sys.exit(main())
