"""
Error hierarchy of geo_renewal.

Every error the toolkit raises on purpose derives from `GeoRenewalError` and from the
built-in exception it refines, so callers can catch either. Messages are one sentence that
names the file, column or row at fault and says how to fix it.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "ConservationError",
    "GeoRenewalError",
    "InputError",
    "RuleError",
    "SchemaError",
]


class GeoRenewalError(Exception):
    """Base class of every error raised by geo_renewal."""


class InputError(GeoRenewalError, ValueError):
    """A file, argument or value the caller supplied cannot be used as given."""


class SchemaError(InputError):
    """A layer lacks required columns or holds values of the wrong type."""


class CRSError(InputError):
    """A layer has no CRS, an implausible CRS, or CRSs of layers disagree."""


class RuleError(GeoRenewalError, ValueError):
    """A rule set or rule expression is invalid."""


class ConservationError(GeoRenewalError, ArithmeticError):
    """Rows of a statistics table do not add up to the input totals (an internal error)."""
