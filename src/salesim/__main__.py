"""``python -m salesim``."""

import sys

from salesim.cli import main

sys.exit(main())
