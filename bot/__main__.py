"""`python -m bot` is `goalnudge`."""

import sys

from bot.cli import main

sys.exit(main())
