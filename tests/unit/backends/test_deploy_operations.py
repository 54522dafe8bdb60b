"""The core's deploy operations on a FakeBackend: the lock, the protected-stage question, results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stagewise.dataops.lock import env_lock, project_locks
from stagewise.errors import LockedError, UsageError
from stagewise.operations import deploy
from stagewise.operations.policy import Target, agree, refuse
from stagewise.project.loader import load_project
from stagewise.project.model import Project
from tests.fakes import FakeBackend, registered_fake


@pytest.fixture
def fake() -> Iterator[type[FakeBackend]]:
    with registered_fake() as backend:
        yield backend


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "stagewise.toml").write_text("[project]\nname = 'ops'\n")
    return load_project(tmp_path)


def target(project: Project, stage: str) -> Target:
    return Target(project, stage, {}, backend="fake")


class Asked:
    """A Confirm callback that records what it was asked and answers ``answer``."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    def __call__(self, env: str, what: str) -> bool:
        self.asked.append((env, what))
        return self.answer


def test_down_volumes_on_a_protected_stage_with_a_refusing_callback_does_nothing(
    project: Project, fake: type[FakeBackend]
) -> None:
    deploy.up(deploy.UpRequest(target(project, "prod"), detach=True), lambda _line: None)
    confirm = Asked(False)
    with pytest.raises(UsageError, match="not confirmed: nothing done on prod"):
        deploy.down(deploy.DownRequest(target(project, "prod"), volumes=True), confirm)
    assert confirm.asked == [("prod", "delete its data (down --volumes)")]
    state = fake.state_of(project.root, "prod")
    assert state is not None
    assert state.data is True
    assert state.running == {"app"}
    assert [method for method, _ in state.calls] == ["up"]


def test_the_default_callback_refuses(project: Project, fake: type[FakeBackend]) -> None:
    with pytest.raises(UsageError, match="not confirmed"):
        deploy.down(deploy.DownRequest(target(project, "prod"), volumes=True))
    assert fake.state_of(project.root, "prod") is None  # no backend was even built


def test_confirmed_down_volumes_runs_under_the_lock(project: Project, fake: type[FakeBackend]) -> None:
    deploy.up(deploy.UpRequest(target(project, "prod"), detach=True), lambda _line: None)
    result = deploy.down(deploy.DownRequest(target(project, "prod"), volumes=True), agree)
    assert result.stopped == ("app",)
    assert result.volumes is True
    state = fake.state_of(project.root, "prod")
    assert state is not None
    assert state.data is False
    assert state.calls == [("up", True), ("down", True)]


def test_unprotected_stages_are_not_asked(project: Project, fake: type[FakeBackend]) -> None:
    confirm = Asked(False)
    result = deploy.down(deploy.DownRequest(target(project, "dev"), volumes=True), confirm)
    assert confirm.asked == []
    assert result.env == "dev"


@pytest.mark.parametrize("operation", ["up", "down", "build"])
def test_changing_operations_meet_the_lock(project: Project, fake: type[FakeBackend], operation: str) -> None:
    requests = {
        "up": lambda t: deploy.up(deploy.UpRequest(t, detach=True), lambda _line: None),
        "down": lambda t: deploy.down(deploy.DownRequest(t), refuse),
        "build": lambda t: deploy.build(deploy.BuildRequest(t), lambda _line: None),
    }
    with (
        env_lock(project_locks(project.root), "dev", "another deploy"),
        pytest.raises(LockedError, match="locked by `another deploy`"),
    ):
        requests[operation](target(project, "dev"))
    state = fake.state_of(project.root, "dev")
    assert state is None or state.calls == []


def test_read_only_operations_take_no_lock(project: Project, fake: type[FakeBackend]) -> None:
    lines: list[str] = []
    with env_lock(project_locks(project.root), "dev", "another deploy"):
        status = deploy.status(deploy.StatusRequest(target(project, "dev")))
        deploy.logs(deploy.LogsRequest(target(project, "dev")), lines.append)
    assert status.record() == {
        "env": "dev",
        "backend": "fake",
        "services": [
            {
                "name": "app",
                "state": "stopped",
                "health": "-",
                "pid": None,
                "port": None,
                "uptime_s": None,
                "detail": "",
                "exit_code": None,
            }
        ],
    }
    assert lines == ["app | a log line"]


def test_up_returns_the_states_and_build_what_was_built(project: Project, fake: type[FakeBackend]) -> None:
    result = deploy.up(deploy.UpRequest(target(project, "dev"), detach=True, build=True), lambda _line: None)
    assert (result.env, result.backend, [s.state for s in result.services]) == ("dev", "fake", ["running"])
    built = deploy.build(deploy.BuildRequest(target(project, "dev"), "app"), lambda _line: None)
    assert built.record() == {"env": "dev", "backend": "fake", "service": "app"}
    state = fake.state_of(project.root, "dev")
    assert state is not None
    assert state.built == ["app", "app"]


def test_an_unknown_backend_lists_the_registered_ones(project: Project, fake: type[FakeBackend]) -> None:
    with pytest.raises(UsageError, match="backends are local, compose, swarm, fake"):
        deploy.status(deploy.StatusRequest(Target(project, "dev", {}, backend="k8s")))


def test_the_fake_backend_answers_exec_health_and_can_start(
    project: Project, fake: type[FakeBackend]
) -> None:
    backend = deploy.backend_for(target(project, "dev"))
    assert backend.can_start() is True
    assert backend.health("app") is False
    backend.up(detach=True, build=False, sink=lambda _line: None)
    lines: list[str] = []
    assert backend.exec("app", ["echo", "hi"], lines.append) == 0
    assert lines == ["app | echo hi"]
    assert backend.health("app") is True


def test_plain_down_on_a_protected_stage_asks_too_and_a_no_leaves_it_running(
    project: Project, fake: type[FakeBackend]
) -> None:
    """``down`` without ``--volumes`` is downtime: on prod it is confirmed like the other steps."""
    deploy.up(deploy.UpRequest(target(project, "prod"), detach=True), lambda _line: None)
    confirm = Asked(False)
    with pytest.raises(UsageError, match="not confirmed: nothing done on prod"):
        deploy.down(deploy.DownRequest(target(project, "prod")), confirm)
    assert confirm.asked == [("prod", deploy.DOWN_QUESTION)]
    state = fake.state_of(project.root, "prod")
    assert state is not None
    assert state.running == {"app"}
    yes = Asked(True)
    result = deploy.down(deploy.DownRequest(target(project, "prod")), yes)
    assert result.stopped == ("app",)
    assert state.running == set()
    assert state.data is True, "a plain down keeps the data"
