"""The one error type a user of the storage layer is meant to read.

Pages and the CLI catch :class:`StorageError` and show ``str(error)``. Messages name
the dataset, pipeline, run or file at fault and say what to do next; the lower-level
cause (SQLAlchemy, the file system, pyarrow) stays attached via ``raise ... from e``
so developers still get the full traceback.
"""


class StorageError(Exception):
    """Something saved or about to be saved cannot be read, written or trusted."""


class JobLimitError(StorageError):
    """A submitter already has as many queued and running jobs as the server allows each one."""


class StorageLimitError(StorageError):
    """Saving this would take a user's files beyond the storage their administrator allows them."""
