"""``stagewise completion bash|zsh|fish``: the scripts parse in their shells and complete.

Each script comes from the real CLI (a subprocess of the installed
``stagewise``) and is run by the real shell: bash through its completion
variables (``COMP_WORDS``/``COMP_CWORD``, what bash sets on TAB), fish
through ``complete -C`` (what fish runs on TAB), zsh with its completion
builtins (``_describe``, ``compadd``, ``_files``) replaced by functions that
print what they were given, because zsh's completion system needs a terminal
(zpty) to run for real; the script's own logic runs unchanged.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stagewise.cli.parser import build_parser
from tests.conftest import requires

STAGEWISE = [sys.executable, "-m", "stagewise"]


@functools.cache
def _text(shell: str) -> str:
    """The script as the CLI prints it (once per shell and worker: a CLI start is the slow part)."""
    done = subprocess.run(
        [*STAGEWISE, "completion", shell], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def _script(shell: str, tmp_path: Path) -> Path:
    path = tmp_path / f"stagewise.{shell}"
    path.write_text(_text(shell), encoding="utf-8")
    return path


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _test_flags() -> list[str]:
    test = _subparsers(build_parser())["test"]
    return [flag for action in test._actions for flag in action.option_strings]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_script_names_every_command_and_every_test_flag(shell: str, tmp_path: Path) -> None:
    text = _script(shell, tmp_path).read_text(encoding="utf-8")
    commands = list(_subparsers(build_parser()))
    assert {"test", "deploy", "init", "env", "images", "regions", "report", "completion", "schema"} <= set(
        commands
    )
    flags = _test_flags()
    assert "--stage" in flags
    assert "--coverage" in flags
    for word in commands:
        assert word in text, f"{shell}: command {word} missing"
    for flag in flags:
        # fish spells flags without dashes (-l stage, -s k); bash and zsh as typed
        spelled = (
            (f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}") if shell == "fish" else flag
        )
        assert spelled in text, f"{shell}: test flag {flag} missing"


def test_bash_script_is_valid_bash(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", "-n", str(_script("bash", tmp_path))], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@requires(shutil.which("zsh") is not None, "zsh is not installed (apt-get install zsh)")
def test_zsh_script_is_valid_zsh(tmp_path: Path) -> None:
    done = subprocess.run(
        ["zsh", "-n", str(_script("zsh", tmp_path))], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@requires(shutil.which("fish") is not None, "fish is not installed (apt-get install fish)")
def test_fish_script_is_valid_fish(tmp_path: Path) -> None:
    done = subprocess.run(
        ["fish", "-n", str(_script("fish", tmp_path))], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


#: (words on the line, the last one being completed) -> what must be offered / must not be
CASES = [
    (["stagewise", ""], {"test", "deploy", "completion", "schema"}, {"--stage"}),
    (["stagewise", "te"], {"test"}, {"env"}),
    (["stagewise", "test", "--cov"], {"--coverage"}, {"--stage"}),
    (["stagewise", "test", "--stage", ""], {"dev", "test", "staging", "prod"}, {"--coverage"}),
    (["stagewise", "test", "--unit", "--stage", "prod", "--"], {"--coverage", "--json"}, set()),
    (["stagewise", "deploy", ""], {"dev", "staging", "prod"}, {"up", "migrate"}),
    (["stagewise", "deploy", "staging", ""], {"up", "down", "migrate", "test"}, {"prod"}),
    # ENV "test" is a stage here, not deploy's test command: up's flags, not test's
    (["stagewise", "deploy", "test", "up", "--"], {"--detach", "--build", "--backend"}, {"--volumes"}),
    (["stagewise", "deploy", "test", "down", "--"], {"--volumes"}, {"--detach"}),
    (["stagewise", "deploy", "prod", "up", "--backend", ""], {"local", "compose"}, {"--build"}),
    (["stagewise", "report", ""], {"show", "open", "flaky"}, set()),
    (["stagewise", "completion", ""], {"bash", "zsh", "fish"}, set()),
    (["stagewise", "schema", ""], {"toml", "summary"}, set()),
]


def _bash_complete(script: Path, words: list[str]) -> set[str]:
    program = f'source "{script}"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _stagewise; printf "%s\\n" "${{COMPREPLY[@]}}"'
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program, "bash", *words],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return set(done.stdout.split())


#: bash alone splits --stage=pr into three words at the "=" (COMP_WORDBREAKS)
BASH_ONLY = [
    (["stagewise", "test", "--stage", "=", "pr"], {"prod"}, {"dev"}),
    (["stagewise", "test", "--stage", "="], {"dev", "prod"}, set()),
    (["stagewise", "test", "--stage", "=", "prod", "--cov"], {"--coverage"}, set()),
]


@pytest.mark.parametrize(("words", "offered", "not_offered"), CASES + BASH_ONLY)
def test_bash_completes(words: list[str], offered: set[str], not_offered: set[str], tmp_path: Path) -> None:
    got = _bash_complete(_script("bash", tmp_path), words)
    assert offered <= got, f"{words}: {sorted(got)}"
    assert not (not_offered & got), f"{words}: {sorted(got)}"


def test_bash_hands_over_to_file_completion_after_the_separator(tmp_path: Path) -> None:
    # after `--` the words are pytest's: nothing from stagewise, bash's -o default completes files
    assert _bash_complete(_script("bash", tmp_path), ["stagewise", "test", "--", "-"]) == set()
    registered = subprocess.run(
        ["bash", "--norc", "-c", f'source "{_script("bash", tmp_path)}"; complete -p stagewise'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-o default" in registered
    assert "-F _stagewise" in registered


_ZSH_STUBS = """
_describe() { local a; a=("${(@P)4}"); print -r -- "${a[@]%%:*}"; }
compadd() { print -r -- "${(@P)2}"; }
_files() { print -r -- "<files>"; }
compdef() { print -r -- "compdef $*"; }
"""


@requires(shutil.which("zsh") is not None, "zsh is not installed (apt-get install zsh)")
@pytest.mark.parametrize(("words", "offered", "not_offered"), CASES)
def test_zsh_completes(words: list[str], offered: set[str], not_offered: set[str], tmp_path: Path) -> None:
    script = _script("zsh", tmp_path)
    program = f'{_ZSH_STUBS}\nsource "{script}" >/dev/null\nwords=("$@"); CURRENT=$#\n_stagewise'
    done = subprocess.run(
        ["zsh", "-f", "-c", program, "zsh", *words], capture_output=True, text=True, timeout=30, check=True
    )
    # the stubs print every candidate; zsh itself filters by the typed prefix
    got = {w for w in done.stdout.split() if w.startswith(words[-1])}
    assert offered <= got, f"{words}: {sorted(got)}"
    assert not (not_offered & got), f"{words}: {sorted(got)}"


@requires(shutil.which("fish") is not None, "fish is not installed (apt-get install fish)")
@pytest.mark.parametrize(("words", "offered", "not_offered"), CASES)
def test_fish_completes(words: list[str], offered: set[str], not_offered: set[str], tmp_path: Path) -> None:
    script = _script("fish", tmp_path)
    line = " ".join(words)
    done = subprocess.run(
        ["fish", "--no-config", "-c", f"source {script}; complete -C {line!r}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    got = {row.split("\t")[0] for row in done.stdout.splitlines()}
    assert offered <= got, f"{words}: {sorted(got)}"
    assert not (not_offered & got), f"{words}: {sorted(got)}"


def test_every_shell_offered_has_a_script() -> None:
    from stagewise.cli.completion_cmd import SHELLS
    from stagewise.cli.completion_scripts import RENDERERS

    assert set(SHELLS) == set(RENDERERS)


def test_unknown_shell_is_a_usage_error() -> None:
    done = subprocess.run(
        [*STAGEWISE, "completion", "tcsh"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "invalid choice: 'tcsh'" in done.stderr
    assert "Traceback" not in done.stderr


def _printed_by(probe: str) -> str:
    """What a fresh interpreter running ``probe`` prints (a fresh one: nothing imported yet)."""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def test_building_the_parser_loads_no_completion_code() -> None:
    """``stagewise --help`` builds the parser: the script writers load only for ``completion``."""
    probe = (
        "import sys; from stagewise.cli.parser import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith('stagewise.cli.completion_')"
        " or m == 'stagewise.project.defaults'))"
    )
    assert _printed_by(probe) == "['stagewise.cli.completion_cmd']"


def test_help_loads_no_run_time_module() -> None:
    """``stagewise --help`` stays under 0.1 s: it imports no result model, renderer or dataclasses.

    Each of these cost 15-55 ms of a 140 ms ``--help`` before they were made lazy (bench_cli).
    """
    probe = (
        "import sys, contextlib, io\n"
        "from stagewise.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "print(sorted(m for m in ('dataclasses', 'inspect', 'stagewise.tiers.result',"
        " 'stagewise.cli.output', 'stagewise.pipeline.results', 'stagewise.release.history')"
        " if m in sys.modules))"
    )
    assert _printed_by(probe) == "[]"
