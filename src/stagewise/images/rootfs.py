"""Build a Debian root filesystem with debootstrap and import it as a Docker image.

No registry is needed: the packages come from Debian's archive on the host,
and ``docker import`` turns the directory into an image. The Dockerfiles of a
project then build ``FROM`` these images with no network at all.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stagewise.errors import ImageBuildError, MissingError

SUITE = "bookworm"
BASE_TAG = "stagewise/base:bookworm"
POSTGRES_TAG = "stagewise/postgres:15"
POSTGRES_BIN = "/usr/lib/postgresql/15/bin"

POSTGRES_ENTRYPOINT = f"""#!/bin/sh
# Initialise the data directory on first start, then run PostgreSQL in the foreground.
set -eu
PGDATA="${{PGDATA:-/var/lib/postgresql/data}}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile="$(mktemp)"
  printf '%s\\n' "${{POSTGRES_PASSWORD:-postgres}}" > "$pwfile"
  {POSTGRES_BIN}/initdb -D "$PGDATA" -U "${{POSTGRES_USER:-postgres}}" --pwfile="$pwfile" \\
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ -n "${{POSTGRES_DB:-}}" ] && [ "$POSTGRES_DB" != "postgres" ]; then
    echo "CREATE DATABASE \\"$POSTGRES_DB\\" OWNER \\"${{POSTGRES_USER:-postgres}}\\";" \\
      | {POSTGRES_BIN}/postgres --single -D "$PGDATA" postgres >/dev/null
  fi
fi
exec {POSTGRES_BIN}/postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
"""


@dataclass(frozen=True)
class ImageSpec:
    """One image made from a Debian root filesystem."""

    tag: str
    packages: tuple[str, ...]
    changes: tuple[str, ...] = ()
    customize: Callable[[Path], None] | None = None


def _customize_postgres(root: Path) -> None:
    entry = root / "usr/local/bin/stagewise-postgres"
    entry.write_text(POSTGRES_ENTRYPOINT, encoding="utf-8")
    entry.chmod(0o755)
    data = root / "var/lib/postgresql/data"
    data.mkdir(parents=True, exist_ok=True)
    uid, gid = _passwd_ids(root, "postgres")
    for path in (root / "var/lib/postgresql", data):
        shutil.chown(path, uid, gid)
    data.chmod(0o700)


def _passwd_ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise ImageBuildError(f"user {user} is missing from the image's /etc/passwd")


IMAGES = {
    "base": ImageSpec(BASE_TAG, ("python3", "python3-venv", "ca-certificates")),
    "postgres": ImageSpec(
        POSTGRES_TAG,
        ("postgresql-15", "ca-certificates"),
        changes=(
            "USER postgres",
            "ENV PGDATA=/var/lib/postgresql/data",
            f"ENV PATH={POSTGRES_BIN}:/usr/local/bin:/usr/bin:/bin",
            "EXPOSE 5432",
            'CMD ["/usr/local/bin/stagewise-postgres"]',
        ),
        customize=_customize_postgres,
    ),
}


def spec_digest(spec: ImageSpec) -> str:
    """A digest of what goes into an image, stored as a label to spot stale images."""
    parts = [spec.tag, SUITE, *spec.packages, *spec.changes]
    if spec.customize is _customize_postgres:
        parts.append(POSTGRES_ENTRYPOINT)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def image_exists(spec: ImageSpec) -> bool:
    """Whether the engine has this image, built from this very spec (not a stale one)."""
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", '{{ index .Config.Labels "stagewise.spec" }}', spec.tag],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.returncode == 0 and done.stdout.strip() == spec_digest(spec)


def build_image(spec: ImageSpec, log: Callable[[str], None], cache_dir: Path | None = None) -> None:
    """debootstrap -> customise -> ``docker import``; the root filesystem is removed after."""
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise MissingError("debootstrap is not installed: apt-get install debootstrap")
    with tempfile.TemporaryDirectory(prefix="stagewise-rootfs-") as work:
        root = Path(work) / "rootfs"
        command = [debootstrap, "--variant=minbase", f"--include={','.join(spec.packages)}"]
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            command.append(f"--cache-dir={cache_dir}")
        command += [SUITE, str(root)]
        log(f"{spec.tag}: debootstrap {SUITE} with {', '.join(spec.packages)}")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ImageBuildError(f"debootstrap failed for {spec.tag}: {' / '.join(tail)}")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        if spec.customize is not None:
            spec.customize(root)
        log(f"{spec.tag}: docker import")
        _import(root, spec.tag, (*spec.changes, f"LABEL stagewise.spec={spec_digest(spec)}"))


def _import(root: Path, tag: str, changes: Sequence[str]) -> None:
    command = ["docker", "import"]
    for change in changes:
        command += ["--change", change]
    command += ["-", tag]
    tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    try:
        done = subprocess.run(command, stdin=tar.stdout, capture_output=True, text=True, check=False)
    finally:
        if tar.stdout is not None:
            tar.stdout.close()
        tar.wait()
    if tar.returncode != 0 or done.returncode != 0:
        raise ImageBuildError(f"docker import of {tag} failed: {done.stderr.strip()[-300:]}")
