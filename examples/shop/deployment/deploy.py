"""The spec's deployment/deploy.py: a shim over ``stagewise deploy``.

python deployment/deploy.py ENV COMMAND [ARGS]
    ENV: dev | staging | prod        COMMAND: up | down | build | logs | status | test
"""

import sys
from pathlib import Path

from stagewise.cli import main

if __name__ == "__main__":
    project = ["--project", str(Path(__file__).resolve().parent.parent)]
    sys.exit(main(["deploy", *sys.argv[1:], *(project if len(sys.argv) > 1 else [])]))
