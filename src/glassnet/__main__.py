"""``python -m glassnet`` runs the command line."""

import sys

from glassnet.interfaces.cli import main

sys.exit(main())
