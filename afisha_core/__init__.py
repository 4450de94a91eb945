"""Afisha: an event-listing backend as a library.

The core holds the domain (``afisha_core.domain``), the use cases
(``afisha_core.usecases``), the ports they need (``afisha_core.ports``) and the
errors they raise (``afisha_core.errors``). It imports nothing but the standard
library, attrs, cattrs and Babel. ``afisha_core.testing`` ships in-memory adapters and
contract suites for your own tests.
"""

__version__ = "0.2.0"
