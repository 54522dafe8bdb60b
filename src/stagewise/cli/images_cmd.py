"""``stagewise images``: build the registry-free base images (debootstrap + docker import)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    """Add ``images build`` and ``images list``."""
    parser = commands.add_parser(
        "images",
        help="build base images from Debian with debootstrap (no registry needed)",
        description="Build stagewise/base:bookworm (python3, venv) and stagewise/postgres:15 from Debian's "
        "archive with debootstrap and docker import; app Dockerfiles build FROM them with no network.",
    )
    parser.add_argument("action", choices=("build", "list"), help="build the images, or list what exists")
    parser.add_argument("--only", choices=("base", "postgres"), action="append", help="build only this image")
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if the image exists")
    parser.add_argument("--cache-dir", metavar="DIR", help="keep downloaded .deb files here between builds")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build missing images (or all with --rebuild); print one line per image."""
    from stagewise.backends.compose import require_daemon
    from stagewise.images.rootfs import IMAGES, build_image, image_exists

    require_daemon()
    names = args.only or list(IMAGES)
    for name in names:
        spec = IMAGES[name]
        exists = image_exists(spec)
        if args.action == "list":
            print(f"{spec.tag:<28} {'present' if exists else 'missing or stale'}")
            continue
        if exists and not args.rebuild:
            print(f"{spec.tag}: present (use --rebuild to build again)")
            continue
        cache = Path(args.cache_dir).resolve() if args.cache_dir else None
        build_image(spec, lambda line: print(line, file=sys.stderr, flush=True), cache)
        print(f"{spec.tag}: built")
    return 0
