"""``BulkWriterError``: what every call raises, with the message the command line prints
(row, field, reason). It is also a pymilvus ``MilvusException`` when pymilvus is installed, so
code written for pymilvus catches it unchanged."""

import functools

from . import _native

try:  # pymilvus is optional
    from pymilvus.exceptions import MilvusException as _Base
except ImportError:  # pragma: no cover - depends on the environment
    _Base = Exception


class BulkWriterError(_Base):
    """A bad row, schema, option or storage failure."""

    def __init__(self, message: str):
        if _Base is Exception:
            super().__init__(message)
        else:
            super().__init__(message=message)
        self._text = message

    def __str__(self):
        return self._text


def raises_bulkwriter_error(function):
    """Re-raises the native module's errors as :class:`BulkWriterError`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except _native.BulkWriterError as e:
            raise BulkWriterError(str(e)) from None

    return wrapper
