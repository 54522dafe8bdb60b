"""Env files read as python-dotenv reads them, with stagewise's line-numbered errors and ``.local`` overrides.

Every file here is a real file in ``tmp_path``; the expected values are what
python-dotenv's own ``dotenv_values`` gives for the same text (checked in
:func:`test_the_values_are_python_dotenvs`), so that stagewise, the app's
settings and Docker Compose agree on what a ``.env`` says.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dotenv import dotenv_values

from stagewise.errors import ConfigError, ExitCode
from stagewise.project.env import mask_text, resolve_env
from stagewise.project.env_files import parse_env_file, stage_file_order
from stagewise.project.loader import load_project
from tests.helpers import run_cli

SEMANTICS = (
    'QUOTED="quoted" # a comment after the quotes\n'
    "SINGLE='single # not a comment'\n"
    "BARE=bare value # trailing comment\n"
    'ESCAPES="tab\\tx\\nnew \\"q\\" back\\\\slash"\n'
    "RAW='no\\tescape'\n"
    "export EXPORTED=yes\n"
    'MULTI="first line\n'
    "second line\n"
    '"\n'
    "REF=${QUOTED}-and-${BARE}\n"
    "DEFAULTED=${UNSET_ANYWHERE:-fallback}\n"
    "EMPTY_DEFAULT=${UNSET_ANYWHERE}\n"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_each_semantic(tmp_path: Path) -> None:
    values = parse_env_file(_write(tmp_path / ".env", SEMANTICS))
    assert values == {
        "QUOTED": "quoted",
        "SINGLE": "single # not a comment",
        "BARE": "bare value",
        "ESCAPES": 'tab\tx\nnew "q" back\\slash',
        "RAW": "no\\tescape",
        "EXPORTED": "yes",
        "MULTI": "first line\nsecond line\n",
        "REF": "quoted-and-bare value",
        "DEFAULTED": "fallback",
        "EMPTY_DEFAULT": "",
    }


def test_the_values_are_python_dotenvs(tmp_path: Path) -> None:
    path = _write(tmp_path / ".env", SEMANTICS)
    assert parse_env_file(path) == dotenv_values(path)


def test_expansion_sees_the_process_env_which_wins_over_earlier_values(tmp_path: Path) -> None:
    path = _write(tmp_path / ".env", "HOST=file-host\nURL=http://${HOST}:${PORT:-80}/\n")
    assert parse_env_file(path)["URL"] == "http://file-host:80/"
    assert parse_env_file(path, {"HOST": "shell-host", "PORT": "9"})["URL"] == "http://shell-host:9/"


def test_the_old_syntax_still_reads_the_same(tmp_path: Path) -> None:
    path = _write(
        tmp_path / ".env",
        "# comment\n\nA=1\nexport B = two words\nC=\"quoted # not a comment\"\nD='single'\nE=x # trailing\n",
    )
    assert parse_env_file(path) == {
        "A": "1",
        "B": "two words",
        "C": "quoted # not a comment",
        "D": "single",
        "E": "x",
    }


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("A=1\nthis is not a variable\n", 2, "expected NAME=value"),
        ("A=1\n\n# comment\n\nnot a variable\nB=2\n", 5, "expected NAME=value"),
        ('A=1\nB="never closed\nC=3\n', 2, 'opening " is never closed'),
        ("A='x' then junk\n", 1, "only a # comment may follow"),
        ("A=1\r\n\r\nbad line\r\n", 3, "expected NAME=value"),
    ],
)
def test_a_line_dotenv_cannot_parse_is_a_config_error_naming_file_and_line(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = tmp_path / ".env"
    path.write_bytes(text.encode())
    with pytest.raises(ConfigError) as caught:
        parse_env_file(path)
    assert caught.value.exit_code == ExitCode.CONFIG
    assert caught.value.path == str(path)
    assert caught.value.key == f"line {line}"
    assert problem in caught.value.problem


def test_the_error_never_echoes_the_line(tmp_path: Path) -> None:
    """The broken line may be a secret's: the message says what is wrong, not what it holds."""
    path = _write(tmp_path / ".env", 'DB_PASSWORD="s3cret-value\n')
    with pytest.raises(ConfigError) as caught:
        parse_env_file(path)
    assert "s3cret" not in str(caught.value)


def test_local_files_follow_their_base_files() -> None:
    assert stage_file_order((".env", ".env.test")) == (".env", ".env.local", ".env.test", ".env.test.local")
    # a .local file listed by the project keeps its place and is not read twice
    assert stage_file_order((".env", ".env.dev", ".env.local")) == (
        ".env",
        ".env.dev",
        ".env.dev.local",
        ".env.local",
    )


def test_local_overrides_are_read_in_order_and_named_as_source(tmp_path: Path) -> None:
    _write(tmp_path / ".env", "A=base\nB=base\nC=base\nD=base\nE=base\n")
    _write(tmp_path / ".env.local", "B=local\nC=local\nD=local\nE=local\n")
    _write(tmp_path / ".env.test", "C=test\nD=test\nE=test\nFROM_LOCAL=${B}\n")
    _write(tmp_path / ".env.test.local", "D=test-local\nE=test-local\n")
    project = load_project(tmp_path)
    resolved = resolve_env(project, project.stages["test"], {"E": "process"})
    values = {name: (v.value, v.source) for name, v in resolved.variables.items()}
    assert values == {
        "A": ("base", ".env"),
        "B": ("local", ".env.local"),
        "C": ("test", ".env.test"),
        "D": ("test-local", ".env.test.local"),
        "E": ("process", "process"),
        "FROM_LOCAL": ("local", ".env.test"),
    }
    assert resolved.files_read == (".env", ".env.local", ".env.test", ".env.test.local")


def test_expansion_reaches_across_files_and_secrets_stay_masked(tmp_path: Path) -> None:
    _write(tmp_path / ".env", "DB_PASSWORD=pw-from-env-file\nDB_HOST=db\n")
    _write(tmp_path / ".env.test", "DATABASE_URL=postgresql://app:${DB_PASSWORD}@${DB_HOST}/x\n")
    project = load_project(tmp_path)
    resolved = resolve_env(project, project.stages["test"], {})
    url = resolved.variables["DATABASE_URL"]
    assert url.value == "postgresql://app:pw-from-env-file@db/x"
    assert url.shown() == "postgresql://app:***@db/x"
    assert resolved.variables["DB_PASSWORD"].shown() == "***"


def test_stagewise_env_shows_expanded_values_and_their_files(tmp_path: Path) -> None:
    _write(tmp_path / ".env", 'GREETING="hello" # comment\nAPI_TOKEN=tok-from-env\n')
    _write(tmp_path / ".env.local", "WHO=local-me\n")
    _write(tmp_path / ".env.dev", 'MESSAGE="${GREETING}, ${WHO}\\t!"\n')
    _write(tmp_path / ".env.dev.local", "API_TOKEN=tok-from-dev-local\n")
    done = run_cli("env", "--stage", "dev", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    variables = record["variables"]
    assert variables["GREETING"] == {"value": "hello", "source": ".env", "secret": False}
    assert variables["MESSAGE"] == {"value": "hello, local-me\t!", "source": ".env.dev", "secret": False}
    assert variables["API_TOKEN"] == {"value": "***", "source": ".env.dev.local", "secret": True}
    assert record["files_read"] == [".env", ".env.local", ".env.dev", ".env.dev.local"]
    assert "tok-from" not in done.stdout


def test_stagewise_env_on_a_broken_line_is_exit_3_naming_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path / ".env", "A=1\n")
    _write(tmp_path / ".env.test.local", 'OK=1\n\nB="never closed\n')
    done = run_cli("env", "--stage", "test", cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"{tmp_path / '.env.test.local'}: line 3:" in done.stderr
    assert "never closed" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_readmes_example_reads_as_it_says(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## `stagewise env`", 1)[1]
    example = section.split("```sh\n", 1)[1].split("```", 1)[0]
    values = parse_env_file(_write(tmp_path / ".env", example), {"HOST": "h"})
    assert values == {
        "PLAIN": "value",
        "QUOTED": "kept # inside",
        "ESCAPED": "tab\there\nnewline",
        "RAW": "no \\t escapes",
        "CERT": "-----BEGIN-----\n...\n-----END-----",
        "URL": "http://h:8000/api",
    }


def test_a_multi_line_secret_is_masked_line_by_line(tmp_path: Path) -> None:
    _write(tmp_path / ".env", 'PRIVATE_KEY="-----BEGIN KEY-----\nMIIBVgIBADANBgkq\nabc\n-----END KEY-----"\n')
    project = load_project(tmp_path)
    secrets = resolve_env(project, project.stages["test"], {}).secret_values()
    assert mask_text("key line: MIIBVgIBADANBgkq", secrets) == "key line: ***"
    assert mask_text("-----BEGIN KEY-----", secrets) == "***"
    assert mask_text("abc", secrets) == "abc", "a short line alone is too common to mask"
