"""``python -m pipeline_core``: the command-line interface (see :mod:`pipeline_core.cli`)."""

import sys

from pipeline_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
