"""Exceptions raised for bad input.

Every error a user can cause by handing cortexkit a wrong file, array or setting is one of these,
with a message that names the file (when there is one), the variable or field, and what was
expected. The CLI turns them into a one-line message and exit code 2.
"""

from __future__ import annotations


class CortexkitError(Exception):
    """Base class of the errors caused by user input (data, configuration, paths)."""


class DataError(CortexkitError, ValueError):
    """A dataset, array or file does not follow the data model.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    source : str, optional
        The file or store the data came from; prefixed to the message.
    variable : str, optional
        The variable, dimension or field at fault; prefixed to the message.
    """

    def __init__(self, message: str, *, source: str | None = None, variable: str | None = None):
        self.source = source
        self.variable = variable
        self.problem = message
        parts = []
        if source:
            parts.append(str(source))
        if variable:
            parts.append(f"'{variable}'")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)

    def with_source(self, source: str) -> "DataError":
        """The same error, now naming the file it came from."""
        return DataError(self.problem, source=source, variable=self.variable)


class ConfigError(CortexkitError, ValueError):
    """A configuration file or setting is invalid."""


def listed(items) -> str:
    """Names for a message, in words: ``a, b, c`` (never a Python list's brackets and quotes)."""
    return ", ".join(str(x) for x in items)
