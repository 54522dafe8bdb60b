"""A backup's manifest: what it holds and how to know it is intact.

``<backup>.json`` beside each backup file: sha256 and size of the file, the
schema revision, row counts and checksums per table, store, env, tool
versions and created-at. ``restore`` checks the sha256 before touching data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stagewise.errors import CorruptBackupError, MissingError


@dataclass(frozen=True)
class Manifest:
    """Everything known about one backup file."""

    file: str
    sha256: str
    size: int
    store: str
    env: str
    revision: str | None
    tables: dict[str, int]
    checksums: dict[str, str]
    created_at: str
    tools: dict[str, str] = field(default_factory=dict)
    #: How ``checksums`` were computed (the store's ``checksum_method``); None in
    #: manifests written before the field existed, which used each store's first method.
    checksum_method: str | None = None

    def path_for(self, backup: Path) -> Path:
        return manifest_path(backup)


def manifest_path(backup: Path) -> Path:
    """Where a backup's manifest lives."""
    return backup.with_name(backup.name + ".json")


def sha256_of(path: Path) -> str:
    """The file's sha256, read in 1 MiB chunks.

    Remembered per (file, size, mtime) for the life of the process: a backup
    is hashed when written and checked again by the verify or restore that
    follows (and ``restore`` checks the file ``choose_backup`` just checked);
    a multi-gigabyte dump should be read once, not three times.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


_DIGESTS: dict[tuple[str, int, int], str] = {}


def write_manifest(backup: Path, manifest: Manifest) -> Path:
    path = manifest_path(backup)
    path.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return path


def read_manifest(backup: Path) -> Manifest:
    """The manifest of ``backup``; a missing or broken one is a corrupt backup."""
    path = manifest_path(backup)
    try:
        data = json.loads(path.read_text())
        return Manifest(**data)
    except FileNotFoundError as exc:
        raise CorruptBackupError(f"{backup} has no manifest ({path.name}): refusing to trust it") from exc
    except (OSError, ValueError, TypeError) as exc:
        raise CorruptBackupError(f"the manifest of {backup} is unreadable: {exc}") from exc


def check_intact(backup: Path) -> Manifest:
    """Size and sha256 against the manifest, before anything else happens."""
    if not backup.is_file():
        raise MissingError(f"backup file {backup} does not exist")
    manifest = read_manifest(backup)
    size = backup.stat().st_size
    if size != manifest.size:
        raise CorruptBackupError(
            f"{backup.name} is {size} bytes but its manifest says {manifest.size}: truncated or altered; "
            "nothing was touched"
        )
    digest = sha256_of(backup)
    if digest != manifest.sha256:
        raise CorruptBackupError(f"{backup.name} fails its sha256 check: corrupt; nothing was touched")
    return manifest
