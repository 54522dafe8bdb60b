"""The --shard split: balanced by recorded durations, new tests round-robin, deterministic, never empty."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from stagewise.errors import UsageError
from stagewise.pipeline.durations import read_durations, read_fixtures, run_durations, update_durations
from stagewise.pipeline.shards import parse_shard, refused_shard, split
from stagewise.tiers.pytest_plugins.stagewise_shard import module_of, shared_setups


def test_longest_first_balances_varied_durations() -> None:
    rng = random.Random(7)  # noqa: S311 - seeded test data, not security
    durations = {f"tests/test_{i}.py::test_x": rng.uniform(0.01, 2.0) for i in range(300)}
    shards = split(list(durations), durations, 4)
    loads = [sum(durations[n] for n in shard) for shard in shards]
    assert max(loads) / min(loads) < 1.02
    assert sorted(n for shard in shards for n in shard) == sorted(durations)


def test_new_tests_go_round_robin_and_fill_empty_shards_first() -> None:
    known = {"a::slow": 10.0}
    shards = split(["a::slow", "b::1", "b::2", "b::3", "b::4"], known, 3)
    assert shards[0] == ["a::slow"]
    assert [len(s) for s in shards] == [1, 2, 2]
    assert split(["n::1", "n::2", "n::3", "n::4"], {}, 2) == [["n::1", "n::3"], ["n::2", "n::4"]]


def test_the_split_depends_only_on_its_input() -> None:
    durations = {f"t::{i}": float(i % 5) for i in range(40)}
    ids = [*durations, "t::new1", "t::new2"]
    shuffled = ids[:]
    random.Random(1).shuffle(shuffled)  # noqa: S311 - seeded test data
    first = [sorted(s) for s in split(ids, durations, 3)]
    assert first == [sorted(s) for s in split(shuffled, durations, 3)]


@pytest.mark.parametrize("bad", ["0/4", "5/4", "2", "a/b", "1/0", "-1/2", ""])
def test_a_bad_shard_spec_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="expected K/N"):
        parse_shard(bad)
    assert parse_shard("2/4") == (2, 4)


def _report(nodeid: str, when: str, duration: float) -> str:
    return json.dumps({"event": "report", "nodeid": nodeid, "when": when, "duration": duration})


def test_durations_count_setup_with_the_test_and_merge_atomically(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    lines = [
        _report("t::a", "setup", 1.0),
        _report("t::a", "call", 0.5),
        _report("t::a", "teardown", 0.25),
        _report("t::b", "setup", 9.0),  # a failed first attempt ...
        _report("t::b", "call", 9.0),
        _report("t::b", "setup", 0.1),  # ... and its rerun: the last attempt counts
        _report("t::b", "call", 0.2),
    ]
    (run / "junit-unit.attempts.jsonl").write_text("\n".join(lines) + "\nnot json\n")
    assert run_durations(run) == {"t::a": 1.75, "t::b": pytest.approx(0.3)}
    root = tmp_path / "project"
    (root / ".stagewise").mkdir(parents=True)
    (root / ".stagewise" / "durations.json").write_text(json.dumps({"tests": {"t::old": 3.0, "t::a": 9.0}}))
    update_durations(root, run)
    assert read_durations(root) == {"t::a": 1.75, "t::b": pytest.approx(0.3), "t::old": 3.0}
    assert [p.name for p in (root / ".stagewise").iterdir()] == ["durations.json"]  # no temporary left


def test_a_refused_shard_reads_back_as_one_line(tmp_path: Path) -> None:
    (tmp_path / "junit-unit.attempts.jsonl").write_text(
        json.dumps({"event": "shard", "index": 1, "count": 4, "total": 3, "refused": True}) + "\n"
    )
    assert refused_shard(tmp_path) == (
        "--shard 1/4: the unit tier has only 3 test(s) for 4 shards, so a shard would be empty; "
        "use at most --shard K/3"
    )
    (tmp_path / "junit-unit.attempts.jsonl").write_text(json.dumps({"event": "shard", "total": 9}) + "\n")
    assert refused_shard(tmp_path) is None


def _suite_with_module_fixtures() -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, float]]:
    """8 modules of 25 tests; modules 0-2 have a 1.5 s module fixture, run by their first test's setup,
    and the very first test ran a 0.4 s session fixture."""
    rng = random.Random(3)  # noqa: S311 - seeded test data
    durations: dict[str, float] = {}
    fixtures: dict[str, dict[str, float]] = {}
    module_cost: dict[str, float] = {}
    for module in range(8):
        for i in range(25):
            durations[f"tests/test_m{module}.py::test_{i:02d}"] = rng.uniform(0.01, 0.2)
        if module < 3:
            first = f"tests/test_m{module}.py::test_00"
            durations[first] += 1.5
            fixtures[first] = {"module": 1.5}
            module_cost[f"tests/test_m{module}.py"] = 1.5
    durations["tests/test_m0.py::test_00"] += 0.4
    fixtures["tests/test_m0.py::test_00"]["session"] = 0.4
    return durations, fixtures, module_cost


def _real_loads(
    shards: list[list[str]], durations: dict[str, float], fixtures: dict[str, dict[str, float]]
) -> list[float]:
    """What each shard really spends: its tests' own time, each module fixture once per shard that
    runs the module, and the session fixture once on every shard."""
    module_cost = {module_of(n): s["module"] for n, s in fixtures.items() if "module" in s}
    loads = []
    for shard in shards:
        own = sum(durations[n] - sum(fixtures.get(n, {}).values()) for n in shard)
        modules = {module_of(n) for n in shard}
        loads.append(own + sum(module_cost.get(m, 0.0) for m in modules) + 0.4)
    return loads


def test_wider_scoped_fixtures_are_costs_of_the_module_and_the_session_not_of_one_test() -> None:
    durations, fixtures, module_cost = _suite_with_module_fixtures()
    own, shared = shared_setups(list(durations), durations, fixtures)
    assert shared == pytest.approx(module_cost)
    assert own["tests/test_m0.py::test_00"] < 0.21  # the test keeps only its own time
    assert own["tests/test_m5.py::test_00"] == durations["tests/test_m5.py::test_00"]


def test_the_split_balances_what_shards_really_spend_with_module_fixtures() -> None:
    durations, fixtures, _ = _suite_with_module_fixtures()
    aware = _real_loads(split(list(durations), durations, 4, fixtures), durations, fixtures)
    blind = _real_loads(split(list(durations), durations, 4), durations, fixtures)
    # Blind to the fixtures, each shard runs (and pays for) every module fixture, and the shards
    # given the fixture-paying tests are starved; knowing them, each such module stays together.
    assert max(aware) / min(aware) < 1.05
    assert max(blind) / min(blind) > 1.1
    assert sum(aware) < sum(blind) - 5.0  # fixtures no longer set up again on every shard


def test_without_recorded_fixtures_the_split_is_the_plain_longest_first() -> None:
    durations = {f"tests/test_{i % 7}.py::test_{i}": (i % 13) / 10 for i in range(90)}
    assert split(list(durations), durations, 3, {}) == split(list(durations), durations, 3)
    # a function-scoped fixture is the test's own time: no fixture event, no change
    assert split(list(durations), durations, 3, {"x::y": {"function": 9.0}}) == split(
        list(durations), durations, 3
    )


def _fixture(nodeid: str, scope: str, duration: float) -> str:
    return json.dumps(
        {"event": "fixture", "nodeid": nodeid, "scope": scope, "name": "f", "duration": duration}
    )


def test_wider_scoped_fixture_times_are_kept_beside_the_durations(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    lines = [
        _fixture("t::a", "session", 0.5),
        _fixture("t::a", "module", 1.0),
        _report("t::a", "setup", 1.6),
        _report("t::a", "call", 0.5),
        _report("t::b", "setup", 0.1),
    ]
    (run / "junit-unit.attempts.jsonl").write_text("\n".join(lines) + "\n")
    root = tmp_path / "project"
    (root / ".stagewise").mkdir(parents=True)
    old = {"tests": {"t::old": 3.0, "t::b": 2.0}, "fixtures": {"t::b": {"module": 1.9}}}
    (root / ".stagewise" / "durations.json").write_text(json.dumps(old))
    update_durations(root, run)
    assert read_fixtures(root) == {"t::a": {"session": 0.5, "module": 1.0}}  # t::b ran again without
    assert read_durations(root) == {"t::a": 2.1, "t::b": 0.1, "t::old": 3.0}
