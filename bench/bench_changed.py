"""``stagewise test --changed`` on examples/shop: wall time against the full tiers, and breakages caught.

Copies examples/shop into a temporary git repository (main branch, one
commit), makes a full recorded run of the unit and integration tiers
(``--coverage`` records the impact data), then:

1. one-line changes, one module each (a harmless edit inside one function,
   committed on a branch off main): the wall time of ``--changed`` against the
   full tiers' (target >= 5x faster), each and the median;
2. one-line breakages planted in different modules, one at a time, the same
   way: it counts as caught when the ``--changed`` run fails (exit 1); one it
   misses is run through the full tiers, to tell a miss from a breakage no
   test sees.

Run: ``.venv/bin/python bench/bench_changed.py [--no-breakages]`` (takes several minutes);
``--reuse DIR`` runs only the breakages, on a copy this script recorded before. A
breakage's ``--changed`` run stops at its first failure (``-- -x``): caught is exit 1.
Prints the figures; the machine's load is the reader's to note.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHOP = HERE.parent / "examples" / "shop"
STAGEWISE = [sys.executable, "-m", "stagewise"]
TIERS = ["--unit", "--integration"]
#: PYTHONDONTWRITEBYTECODE stops pytest from caching its rewritten test modules and plugins: every pytest
#: process would rewrite them again (tens of seconds on a loaded machine), a cost users do not have.
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "CI": "true"}

#: Harmless one-line changes inside one function, each in its own module: (file, old line, new line).
HARMLESS = [
    ("shop/domain.py", 'return "".join(f": {line}\\n" for line in text.splitlines() or [""]) + "\\n"',
     'return "".join([f": {line}\\n" for line in text.splitlines() or [""]]) + "\\n"'),
    ("shop/pages.py", 'return f"${cents // 100}.{cents % 100:02d}"', 'return "$" + f"{cents // 100}.{cents % 100:02d}"'),
    ("shop/settings.py", "    return number", "    return float(number)"),
    ("shop/services.py", "    return list(session.scalars(stmt))", "    return [*session.scalars(stmt)]"),
    ("shop/storefront.py", "    return HTMLResponse(pages.storefront(_products(session)))",
     "    return HTMLResponse(content=pages.storefront(_products(session)))"),
]  # fmt: skip

#: One-line breakages in different modules, each inside one function: (file, old line, new line).
BREAKAGES = [
    ("shop/domain.py", "    return self.quantity * self.unit_price_cents", "    return self.quantity + self.unit_price_cents"),
    ("shop/services.py", "    return customer", "    return None"),
    ("shop/settings.py", "    return number", "    return number + 1"),
    ("shop/pages.py", '    return f"${cents // 100}.{cents % 100:02d}"', '    return f"${cents // 100}.{cents % 100:03d}"'),
    ("shop/storefront.py", "    return HTMLResponse(pages.confirmation(order), status_code=201)", "    return HTMLResponse(pages.confirmation(order), status_code=200)"),
    ("shop/regional.py", '    return JSONResponse({"error": "not_found", "detail": detail, "region": region}, 404)', '    return JSONResponse({"error": "not_found", "detail": detail, "region": region}, 400)'),
]  # fmt: skip


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=bench@example.com", "-c", "user.name=bench", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def stagewise(repo: Path, *args: str) -> tuple[int, float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [*STAGEWISE, "test", *TIERS, "--no-progress", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env=ENV,
    )
    notes = [line for line in done.stdout.splitlines() if line.startswith("stagewise: --changed")]
    return done.returncode, time.monotonic() - started, "\n".join(notes)


def make_repo(scratch: Path) -> Path:
    repo = scratch / "shop"
    shutil.copytree(
        SHOP,
        repo,
        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "reports", ".stagewise", "*.db"),
    )
    (repo / ".gitignore").write_text("reports/\n.stagewise/\n__pycache__/\n*.egg-info/\n.coverage*\n*.db\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "shop")
    return repo


def replace_line(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"bench: {path.name} no longer holds {old!r}: update BREAKAGES")
    path.write_text(text.replace(old, new, 1))


def speed(repo: Path) -> bool:
    """The full recorded run, the full run, and --changed after each harmless one-line change."""
    code, full, _ = stagewise(repo, "--coverage")
    print(f"full recorded run (unit + integration, --coverage): exit {code}, {full:.1f} s")
    if code != 0 or not (repo / ".stagewise" / "impact.json").is_file():
        print("bench: the full run must pass and record .stagewise/impact.json")
        return False
    code, plain, _ = stagewise(repo)
    print(f"full run (unit + integration): exit {code}, {plain:.1f} s")
    ratios = []
    for number, (file, old, new) in enumerate(HARMLESS, 1):
        git(repo, "checkout", "-q", "-B", f"one-line-{number}", "main")
        replace_line(repo / file, old, new)
        git(repo, "commit", "-qam", f"one line in {file}")
        code, changed, notes = stagewise(repo, "--changed")
        ratios.append(plain / changed)
        print(
            f"--changed after a one-line change to {file}: exit {code}, {changed:.1f} s, {plain / changed:.1f}x"
        )
        print("  " + notes.replace("\n", "\n  "))
        git(repo, "checkout", "-q", "main")
    ratios.sort()
    print(
        f"speed-up of --changed over the full tiers: median {ratios[len(ratios) // 2]:.1f}x, "
        f"min {ratios[0]:.1f}x, max {ratios[-1]:.1f}x (target >= 5x)"
    )
    return True


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows in a log file
    reuse = sys.argv[sys.argv.index("--reuse") + 1] if "--reuse" in sys.argv else None
    scratch = Path(tempfile.mkdtemp(prefix="stagewise-bench-changed-"))
    try:
        if reuse is not None:  # a repository an earlier run of this script recorded: breakages only
            repo = Path(reuse)
        else:
            repo = make_repo(scratch)
            if not speed(repo):
                return 1
        if "--no-breakages" in sys.argv:
            return 0
        caught = 0
        breakages = BREAKAGES
        for number, (file, old, new) in enumerate(breakages, 1):
            git(repo, "checkout", "-q", "-B", f"break-{number}", "main")
            replace_line(repo / file, old, new)
            git(repo, "commit", "-qam", f"break {file}")
            code, seconds, notes = stagewise(repo, "--changed", "--", "-x")  # caught at the first failure
            hit = code == 1
            caught += hit
            verdict = "caught"
            if not hit:  # was it visible at all? the full tiers say
                whole, _, _ = stagewise(repo)
                verdict = "MISSED" if whole == 1 else f"no test sees it (full run exit {whole})"
            print(
                f"breakage {number} in {file}: {new.strip()[:60]!r}: --changed exit {code} ({seconds:.1f} s) "
                f"-> {verdict}"
            )
            print("  " + notes.replace("\n", "\n  "))
            git(repo, "checkout", "-q", "main")
        modules = len({f for f, _, _ in breakages})
        print(f"caught {caught} of {len(breakages)} planted breakages in {modules} modules (target: all)")
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
