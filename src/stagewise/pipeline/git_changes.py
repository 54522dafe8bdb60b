"""``--changed [REF]``: what changed in the working tree against REF, read from git.

The change is everything the tests would see: commits since REF, staged and
unstaged edits, and untracked files git does not ignore. A rename counts as
both its old and its new path, a deletion as its old path. Paths come back
relative to the project root (a project inside a bigger repository sees only
its own files). Every git call is an argument list; REF is validated by git
itself (``rev-parse --verify``) before it reaches any other command.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from stagewise.errors import MissingError, UsageError

#: Branches tried, in order, for the default REF's merge base when origin/HEAD names none.
MAIN_BRANCHES = ("main", "master", "origin/main", "origin/master")


@dataclass(frozen=True)
class Change:
    """The files changed against ``ref`` (a commit), relative to the project root."""

    ref: str  # what the user gave, or how the default was found ("merge base with main")
    commit: str  # the commit it resolved to
    files: frozenset[str]  # changed, added, deleted, and both sides of a rename
    deleted: frozenset[str]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        raise MissingError("--changed needs git, and git is not on PATH: install git") from None
    except subprocess.TimeoutExpired:
        raise MissingError(f"git {' '.join(args[:2])} took over 60 s in {root}") from None


def repo_root(root: Path) -> Path:
    """The top of the git work tree holding ``root``, or a usage error saying it is not in one."""
    done = _git(root, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise UsageError(
            f"--changed needs a git repository: {root} is not inside one "
            "(run `git init` and commit, or run the tiers without --changed)"
        )
    return Path(done.stdout.strip()).resolve()


def resolve_ref(root: Path, ref: str | None) -> tuple[str, str]:
    """``(label, commit)`` for REF, or for the default: the merge base of HEAD with the main branch."""
    if ref is not None:
        if ref.startswith("-") or not ref.strip():
            raise UsageError(f"--changed {ref!r}: not a git revision")
        done = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        if done.returncode != 0:
            raise UsageError(
                f"--changed {ref}: not a commit in {root} (give a branch, tag or commit, e.g. --changed main)"
            )
        return ref, done.stdout.strip()
    if _git(root, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        raise UsageError(f"--changed: the repository at {root} has no commit yet; commit once, then compare")
    for branch in _main_candidates(root):
        base = _git(root, "merge-base", "HEAD", branch)
        if base.returncode == 0 and base.stdout.strip():
            return f"the merge base with {branch}", base.stdout.strip()
    raise UsageError(
        f"--changed: found no main branch in {root} (tried origin/HEAD, {', '.join(MAIN_BRANCHES)}): "
        "give the commit to compare with, e.g. --changed HEAD~1"
    )


def _main_candidates(root: Path) -> list[str]:
    """origin/HEAD's branch first (what the remote calls main), then the usual names that exist."""
    found: list[str] = []
    head = _git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if head.returncode == 0 and head.stdout.strip():
        found.append(head.stdout.strip())
    for branch in MAIN_BRANCHES:
        if branch not in found and _git(root, "rev-parse", "--verify", "--quiet", branch).returncode == 0:
            found.append(branch)
    return found


def changed_files(root: Path, ref: str | None) -> Change:
    """The files that differ between REF and the working tree (untracked ones included)."""
    top = repo_root(root)
    label, commit = resolve_ref(root, ref)
    diff = _git(root, "diff", "--name-status", "-z", "--find-renames", "--no-ext-diff", commit, "--", ".")
    if diff.returncode != 0:
        raise MissingError(f"git diff against {label} failed: {diff.stderr.strip() or diff.returncode}")
    files: set[str] = set()
    deleted: set[str] = set()
    fields = diff.stdout.split("\0")
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index]
        count = 2 if status[:1] in ("R", "C") else 1
        paths = fields[index + 1 : index + 1 + count]
        index += 1 + count
        if status[:1] == "R":
            deleted.add(paths[0])
        elif status[:1] == "D":
            deleted.update(paths)
        files.update(paths)
    files.update(untracked_files(root))
    return Change(
        ref=label,
        commit=commit,
        files=frozenset(_relative(top, root, p) for p in files if _inside(top, root, p)),
        deleted=frozenset(_relative(top, root, p) for p in deleted if _inside(top, root, p)),
    )


def untracked_files(root: Path) -> list[str]:
    """Untracked, not ignored files under ``root``, as paths from the top of the repository."""
    done = _git(root, "ls-files", "--others", "--exclude-standard", "--full-name", "-z", "--", ".")
    return [p for p in done.stdout.split("\0") if p] if done.returncode == 0 else []


def project_files(root: Path) -> list[str]:
    """Every file git would hand a clone of the project (tracked, plus untracked not ignored), from ``root``."""
    top = repo_root(root)
    done = _git(
        root, "ls-files", "--cached", "--others", "--exclude-standard", "--full-name", "-z", "--", "."
    )
    if done.returncode != 0:
        return []
    return sorted(_relative(top, root, p) for p in done.stdout.split("\0") if p and _inside(top, root, p))


def head_commit(root: Path) -> str:
    """HEAD's commit, or "" before the first commit (or outside git)."""
    done = _git(root, "rev-parse", "--verify", "--quiet", "HEAD")
    return done.stdout.strip() if done.returncode == 0 else ""


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes ("" when it is gone or unreadable)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def _inside(top: Path, root: Path, path: str) -> bool:
    try:
        (top / path).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _relative(top: Path, root: Path, path: str) -> str:
    full = top / path
    try:
        return PurePosixPath(full.resolve().relative_to(root.resolve()).as_posix()).as_posix()
    except ValueError:  # a deleted file whose folder is gone: resolve() cannot follow it
        rel = os.path.relpath(full, root.resolve())
        return PurePosixPath(rel).as_posix()
