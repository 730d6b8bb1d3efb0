"""``python -m shelfwise ...``: the ``shelfwise`` command, where the console script is not on the PATH."""

import sys

from shelfwise.cli.main import main

sys.exit(main())
