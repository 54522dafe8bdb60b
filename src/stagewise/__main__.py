"""``python -m stagewise`` runs the CLI."""

import sys

from stagewise.cli import main

sys.exit(main())
