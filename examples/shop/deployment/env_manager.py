"""The spec's deployment/env_manager.py: a shim over ``stagewise env``.

python deployment/env_manager.py [--stage dev|test|staging|prod] [--json]
"""

import sys
from pathlib import Path

from stagewise.cli import main

if __name__ == "__main__":
    sys.exit(main(["env", "--project", str(Path(__file__).resolve().parent.parent), *sys.argv[1:]]))
