"""Which compose runs and what its failures say: detection, versions, the cause line, pulls.

Detection runs the real programs found on a search path. This machine has
docker-compose v1 and no v2 plugin, so the v2 branch is met with a stand-in
``docker`` script that answers ``docker compose version`` as the plugin does
(the only double here, for the plugin that cannot run on this machine).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stagewise.backends.compose_cli import (
    IMAGES_HINT,
    ComposeBinary,
    compose_cause,
    describe,
    detect,
    parse_version,
    pull_failure,
)
from stagewise.errors import MissingError
from tests.conftest import requires


def script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("output", "version"),
    [
        (
            "docker-compose version 1.29.2, build unknown\ndocker-py version: 5.0.3\n"
            "CPython version: 3.11.2\nOpenSSL version: OpenSSL 3.0.19 27 Jan 2026\n",
            "1.29.2",
        ),
        ("Docker Compose version v2.24.5\n", "2.24.5"),
        ("Docker Compose version 2.20.2+ds1-0ubuntu1~22.04.1\n", "2.20.2+ds1-0ubuntu1~22.04.1"),
        ("docker-compose version 1.25.0, build unknown\n", "1.25.0"),
        ("something else\n", None),
        ("", None),
    ],
)
def test_parse_version_reads_the_first_line(output: str, version: str | None) -> None:
    assert parse_version(output) == version


def test_describe_names_the_program_and_its_generation() -> None:
    v1 = ComposeBinary(("/usr/bin/docker-compose",), "docker-compose", "1.29.2")
    plugin = ComposeBinary(("/usr/bin/docker", "compose"), "docker compose", "2.24.5")
    standalone_v2 = ComposeBinary(("/usr/local/bin/docker-compose",), "docker-compose", "2.24.5")
    assert v1.describe() == "docker-compose 1.29.2 (Compose v1)"
    assert plugin.describe() == "docker compose 2.24.5 (Compose v2 plugin)"
    assert standalone_v2.describe() == "docker-compose 2.24.5 (Compose v2)"
    assert ComposeBinary(("x",), "docker-compose", None).describe() == (
        "docker-compose ? (Compose, version not known)"
    )


@requires(shutil.which("docker-compose") is not None, "docker-compose (v1) is not installed")
def test_the_real_v1_binary_is_found_when_docker_has_no_compose_plugin(tmp_path: Path) -> None:
    """Real ``docker-compose`` on a path whose ``docker`` has no compose subcommand."""
    legacy = shutil.which("docker-compose")
    assert legacy is not None
    bin_dir = tmp_path / "bin"
    script(bin_dir, "docker", 'echo "docker: unknown command: docker compose" >&2; exit 1')
    (bin_dir / "docker-compose").symlink_to(legacy)
    found = detect(str(bin_dir))
    real = subprocess.run([legacy, "version"], capture_output=True, text=True, check=True).stdout
    assert found.argv == (str(bin_dir / "docker-compose"),)
    assert found.name == "docker-compose"
    assert found.version is None, "asked only when an error names it"
    version = parse_version(real)
    assert version is not None
    generation = "Compose v1" if version.startswith("1.") else "Compose v2"
    assert describe(found) == f"docker-compose {version} ({generation})"


def test_the_v2_plugin_wins_when_it_answers(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    script(
        bin_dir,
        "docker",
        'if [ "$1 $2" = "compose version" ]; then echo "Docker Compose version v2.27.1"; exit 0; fi; exit 1',
    )
    script(bin_dir, "docker-compose", 'echo "docker-compose version 1.29.2, build unknown"')
    found = detect(str(bin_dir))
    assert found.argv == (str(bin_dir / "docker"), "compose")
    assert found.describe() == "docker compose 2.27.1 (Compose v2 plugin)"


def test_no_compose_at_all_is_missing_with_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingError, match="apt-get install docker-compose"):
        detect(str(tmp_path / "empty"))


def test_compose_cause_skips_compose_summaries_and_progress() -> None:
    v1_port = (
        'Creating network "x_default" with the default driver\nCreating x_web_1 ... \n'
        "Creating x_web_1 ... error\n\n"
        "ERROR: for x_web_1  Cannot start service web: driver failed programming external "
        "connectivity on endpoint x_web_1: Error starting userland proxy: listen tcp4 127.0.0.1:5000: "
        "bind: address already in use\n\n"
        "ERROR: for web  Cannot start service web: driver failed programming external connectivity on "
        "endpoint x_web_1: Error starting userland proxy: listen tcp4 127.0.0.1:5000: bind: address "
        "already in use\nERROR: Encountered errors while bringing up the project.\n"
    )
    assert compose_cause(v1_port).startswith("Cannot start service web: driver failed")
    assert compose_cause(v1_port).endswith("bind: address already in use")
    v1_config = "ERROR: The Compose file './docker-compose.dev.yml' is invalid because:\nservices.web.ports is invalid\n"
    assert "is invalid" in compose_cause(v1_config)
    v2 = (
        " Container x-web-1  Starting\n"
        "Error response from daemon: driver failed programming external connectivity: "
        "Bind for 127.0.0.1:5000 failed: port is already allocated\n"
    )
    assert compose_cause(v2).startswith("Error response from daemon: driver failed")


V1_PULL = (
    'Creating network "p_default" with the default driver\n'
    "Pulling web (nosuchorg/nosuchimage:1.0)...\n"
    'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: '
    "no such host\n"
)
V1_BUILD = (
    "Building web\nDEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n"
    "            Install the buildx component to build images with BuildKit:\n"
    "            https://docs.docker.com/go/buildx/\n\n"
    "Sending build context to Docker daemon  3.072kB\nStep 1/2 : FROM python:3.12-slim\n"
    'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: '
    "no such host\nService 'web' failed to build : Build failed\n"
)
V2_DENIED = (
    " web Pulling \n web Error \n"
    "Error response from daemon: pull access denied for nosuchorg/nosuchimage, repository does not "
    "exist or may require 'docker login': denied: requested access to the resource is denied\n"
)


def test_a_pull_on_a_closed_network_names_the_image_and_images_build() -> None:
    message = pull_failure(V1_PULL)
    assert message is not None
    assert message.startswith("could not pull image nosuchorg/nosuchimage:1.0 of service web: ")
    assert "no registry is reachable" in message
    assert "no such host" in message
    assert message.endswith(IMAGES_HINT)
    assert "`stagewise images build`" in IMAGES_HINT


def test_a_dockerfile_from_that_cannot_be_pulled_names_the_from_line() -> None:
    message = pull_failure(V1_BUILD)
    assert message is not None
    assert "image python:3.12-slim (the Dockerfile's FROM of service web)" in message
    assert "no registry is reachable" in message
    assert compose_cause(V1_BUILD).startswith('Get "https://registry-1.docker.io/v2/"')


def test_a_registry_without_the_image_is_said_differently() -> None:
    message = pull_failure(V2_DENIED)
    assert message is not None
    assert "the registry has no such image" in message
    assert "pull access denied for nosuchorg/nosuchimage" in message


def test_other_failures_are_not_called_pulls() -> None:
    refused = "Error response from daemon: dial unix /var/run/docker.sock: connect: connection refused\n"
    assert pull_failure(refused) is None
    assert pull_failure("ERROR: for web  Cannot start service web: bind: address already in use\n") is None
