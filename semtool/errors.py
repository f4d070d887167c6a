"""The one exception type for mistakes a user can make (bad file, wrong kind, bad option).

The CLI turns a :class:`UserError` into one line on stderr and exit code 2; anything else
is a bug and is reported as such. A :class:`UserError` is a :class:`ValueError`, so Python
callers of the library may catch either.

The library names its *parameters* (``quantile must lie in (0, 1)``), never a CLI flag:
an error about one parameter says which (``parameter="quantile"``), and the CLI spells it
as the command's flag (``--quantile must lie in (0, 1)``) with :meth:`UserError.naming`.
"""

from __future__ import annotations

import re


class UserError(ValueError):
    """A mistake in the user's input: the message is shown as one line, exit code 2.

    Parameters
    ----------
    message : str
        What is wrong, naming the file or the parameter.
    hint : str, optional
        What to do instead, shown in parentheses after the message.
    parameter : str, optional
        The library parameter the message is about; the message starts with its name, or
        suggests ``parameter=VALUE``.
    """

    def __init__(self, message: str, *, hint: str | None = None, parameter: str | None = None):
        super().__init__(message)
        self.hint = hint
        self.parameter = parameter

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{msg} ({self.hint})" if self.hint else msg

    def naming(self, flag: str) -> str:
        """The message with the parameter spelled as the CLI option ``flag``.

        A leading parameter name becomes the flag (``quantile must …`` -> ``--quantile
        must …``) and a suggested ``parameter=True`` becomes the bare flag.
        """
        text = str(self)
        if not self.parameter:
            return text
        p = re.escape(self.parameter)
        text = re.sub(rf"^{p}(?![\w-])", flag, text)
        return re.sub(rf"(?<![\w-]){p}=True\b", flag, text)
