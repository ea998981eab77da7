"""User-facing errors, one per layer.

Pages and the CLI catch only these and show ``str(error)``: the message names the
field or column at fault and says what to do. Lower-level errors are wrapped with
``raise ... from e`` so the traceback stays available to developers.
"""


class StudioError(Exception):
    """Base of every error a user is meant to read."""


class SpecError(StudioError):
    """A pipeline definition is invalid (names the field, e.g. ``steps[2].strategy``)."""


class DataError(StudioError):
    """A data file or frame cannot be used as asked (names the file or column)."""


class ModelError(StudioError):
    """A model artifact cannot be loaded, trusted, exported or applied."""


class CancelledError(StudioError):
    """Training was cancelled by the user; partial results may be attached."""
