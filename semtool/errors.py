"""The one exception type for mistakes a user can make (bad file, wrong kind, bad option).

The CLI turns a :class:`UserError` into one line on stderr and exit code 2; anything else
is a bug and is reported as such.
"""


class UserError(Exception):
    """A mistake in the user's input: the message is shown as one line, exit code 2."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{msg} ({self.hint})" if self.hint else msg
