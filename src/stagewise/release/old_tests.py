"""The serving release's own smoke tests, as they were at the commit it was released from.

The migration gate starts the version serving now on the rehearsed new schema
and smoke-tests it (issue 16, point 3). The tests must be that version's: the
new tree's tests describe the new version, and may fail on the old one for
reasons that have nothing to do with the schema (or pass where the old
version's own would fail). So the project's tree at the serving release's
commit is extracted (``git archive``, the project's own directory of the
repository) into a temporary directory and the smoke tier runs from there.

When that commit cannot give the old tests - the release has no commit (the
project was not in git), it was made from a dirty tree (its tests were not the
commit's), or the commit is gone (history rewritten) - the current tree's
tests run instead, and :attr:`OldTests.source` says so; the gate prints it and
the release record keeps it.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stagewise.errors import DeployError
from stagewise.release.history import ReleaseRecord

_GIT_TIMEOUT_S = 120


@dataclass(frozen=True)
class OldTests:
    """Where the old version's smoke tests are (``root``; None: the current tree's) and why."""

    root: Path | None
    source: str

    @property
    def fallback(self) -> bool:
        return self.root is None


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=_GIT_TIMEOUT_S
    )


def why_not(project_root: Path, serving: ReleaseRecord | None) -> str | None:
    """Why the serving release's commit cannot give its tests, or None when it can."""
    if serving is None:
        return "no release serves (the running version was started by `up`, so its commit is unknown)"
    if not serving.commit:
        return f"release {serving.id} has no commit (the project was not in git when it was released)"
    if serving.extra.get("dirty") == "true" or serving.version.endswith("-dirty"):
        return f"release {serving.id} was made from a dirty tree, so its tests are not commit {serving.commit[:12]}'s"
    try:
        found = _git(project_root, "cat-file", "-e", f"{serving.commit}^{{commit}}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"git could not be asked about commit {serving.commit[:12]} ({exc})"
    if found.returncode != 0:
        return f"commit {serving.commit[:12]} of release {serving.id} is not in the repository (history rewritten?)"
    return None


def extract(project_root: Path, commit: str, into: Path) -> None:
    """The project's directory of the repository as it was at ``commit``, written under ``into``."""
    where = _git(project_root, "rev-parse", "--show-toplevel", "--show-prefix")
    if where.returncode != 0:
        raise DeployError(f"git rev-parse in {project_root} failed: {where.stderr.strip()}")
    top, _, prefix = where.stdout.partition("\n")
    prefix = prefix.strip()
    treeish = f"{commit}:{prefix}" if prefix else commit
    archive = into / "tree.tar"
    with archive.open("wb") as out:
        done = subprocess.run(
            ["git", "archive", "--format=tar", treeish],
            cwd=top,  # from a subdirectory, git would archive only that part of the tree-ish
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
            timeout=_GIT_TIMEOUT_S,
        )
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise DeployError(f"git archive {treeish} failed: {reason[-1] if reason else 'no message'}")
    tree = into / "tree"
    tree.mkdir()
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tree, filter="data")
        else:  # pragma: no cover - Python < 3.11.4; the archive is git's own, of this repository
            tar.extractall(tree)  # noqa: S202 (git's own archive of the project's repository)
    archive.unlink()


@contextmanager
def old_smoke_tests(project_root: Path, serving: ReleaseRecord | None) -> Iterator[OldTests]:
    """The serving release's tree at its commit for the duration (removed after), or the fallback."""
    reason = why_not(project_root, serving)
    if reason is not None or serving is None or serving.commit is None:
        yield OldTests(None, f"the current tree's tests (fallback: {reason})")
        return
    with tempfile.TemporaryDirectory(prefix="stagewise-old-tests-") as tmp:
        failed: str | None = None
        try:
            extract(project_root, serving.commit, Path(tmp))
        except (DeployError, OSError, subprocess.TimeoutExpired, tarfile.TarError) as exc:
            failed = f"extracting commit {serving.commit[:12]} failed: {exc}"
        if failed is not None:
            yield OldTests(None, f"the current tree's tests (fallback: {failed})")
        else:
            yield OldTests(
                Path(tmp) / "tree", f"the tests of {serving.version} at commit {serving.commit[:12]}"
            )


__all__ = ["OldTests", "extract", "old_smoke_tests", "why_not"]
