"""Which file is a stage's compose file: the spec's names, the Compose-spec names, the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.project.services import ComposeConfig, candidates


def touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).write_text("services: {}\n")


def test_the_names_a_stage_may_use_most_specific_first() -> None:
    assert candidates("staging") == (
        (
            "docker-compose.stag.yml",
            "docker-compose.stag.yaml",
            "compose.stag.yaml",
            "compose.stag.yml",
            "docker-compose.staging.yml",
            "docker-compose.staging.yaml",
            "compose.staging.yaml",
            "compose.staging.yml",
        ),
    )
    own, base = candidates("dev")
    assert own[0] == "docker-compose.dev.yml"
    assert "compose.dev.yaml" in own
    assert base == ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
    assert len(candidates("prod")) == 1, "a base compose file is never prod's without being named"


def test_file_for_is_the_setting_or_the_specs_name_without_reading_a_directory() -> None:
    assert ComposeConfig().file_for("staging") == "docker-compose.stag.yml"
    assert ComposeConfig().file_for("qa") == "docker-compose.qa.yml"
    assert ComposeConfig(files={"qa": "ops/qa.yaml"}).file_for("qa") == "ops/qa.yaml"


@pytest.mark.parametrize(
    ("present", "stage", "found"),
    [
        (("compose.yaml",), "dev", ("compose.yaml",)),
        (("compose.yml",), "dev", ("compose.yml",)),
        (("compose.prod.yaml",), "prod", ("compose.prod.yaml",)),
        (("compose.staging.yaml",), "staging", ("compose.staging.yaml",)),
        (("docker-compose.stag.yml",), "staging", ("docker-compose.stag.yml",)),
        (("compose.yaml", "compose.dev.yaml"), "dev", ("compose.dev.yaml",)),
        (("compose.yaml",), "prod", ()),
        ((), "dev", ()),
        (
            ("docker-compose.dev.yml", "compose.dev.yaml"),
            "dev",
            ("docker-compose.dev.yml", "compose.dev.yaml"),
        ),
        (("compose.yaml", "docker-compose.yml"), "dev", ("compose.yaml", "docker-compose.yml")),
    ],
)
def test_lookup_finds_what_is_there(
    tmp_path: Path, present: tuple[str, ...], stage: str, found: tuple[str, ...]
) -> None:
    touch(tmp_path, *present)
    assert ComposeConfig().lookup(stage, tmp_path) == found


def test_an_explicit_setting_wins_over_files_present(tmp_path: Path) -> None:
    touch(tmp_path, "compose.dev.yaml", "docker-compose.dev.yml")
    config = ComposeConfig(files={"dev": "deploy/dev.yml"})
    assert config.lookup("dev", tmp_path) == ("deploy/dev.yml",)
