"""Long work outside the page: job runners (threads or Dask) that report through a reporter object.

The runners know nothing of storage; a reporter passed in by the caller records progress and results.
"""
