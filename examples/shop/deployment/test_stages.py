"""The spec's deployment/test_stages.py: a shim over ``stagewise test``.

python deployment/test_stages.py [--unit|--integration|--api|--e2e|--all]
    [--stage dev|test|staging|prod] [--coverage] [--verbose] [--host URL] [--no-headless]
"""

import sys
from pathlib import Path

from stagewise.cli import main

if __name__ == "__main__":
    sys.exit(
        main(["test", "--project", str(Path(__file__).resolve().parent.parent), *sys.argv[1:]])
    )
