"""``BulkWriterError``: what every call raises, with the message the command line prints
(row, field, reason). It is also a pymilvus ``MilvusException`` when pymilvus is installed, so
code written for pymilvus catches it unchanged.

The class is made on first use (``error_class()``, or the attribute ``BulkWriterError`` of
this module and of the package): importing pymilvus takes more than half a second, which a
process that never raises (a Spark or Ray worker) should not pay."""

import functools

from . import _native

_class = None


def error_class():
    """The ``BulkWriterError`` class, made once."""
    global _class
    if _class is None:
        try:  # pymilvus is optional
            from pymilvus.exceptions import MilvusException as base
        except ImportError:  # pragma: no cover - depends on the environment
            base = Exception

        class BulkWriterError(base):
            """A bad row, schema, option or storage failure."""

            def __init__(self, message: str):
                if base is Exception:
                    super().__init__(message)
                else:
                    super().__init__(message=message)
                self._text = message

            def __str__(self):
                return self._text

        BulkWriterError.__module__ = "bulkwriter"
        BulkWriterError.__qualname__ = "BulkWriterError"
        _class = BulkWriterError
    return _class


def error(message: str) -> Exception:
    """A ``BulkWriterError`` with ``message``, to raise."""
    return error_class()(message)


def __getattr__(name):
    if name == "BulkWriterError":
        return error_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def raises_bulkwriter_error(function):
    """Re-raises the native module's errors as ``BulkWriterError``."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except _native.BulkWriterError as e:
            raise error(str(e)) from None

    return wrapper
