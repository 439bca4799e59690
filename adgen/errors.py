"""Errors a user can act on.

A `UserError` is a mistake the user can fix (bad params, a missing weights file, a port in use).
The CLI prints it as one line and exits with status 2; anything else is a bug and keeps its trace.
"""


class UserError(Exception):
    """A problem the user can fix; the message says what is wrong and what to do."""
