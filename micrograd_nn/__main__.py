"""``python -m micrograd_nn ...``: the command line (see ``micrograd_nn.cli``)."""

import sys

from .cli import main

sys.exit(main())
