"""``python -m tools.benchmarks``: see :mod:`tools.benchmarks`."""

import sys

from . import main

sys.exit(main())
