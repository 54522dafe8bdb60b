"""The --shard split: balanced by recorded durations, new tests round-robin, deterministic, never empty."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from stagewise.errors import UsageError
from stagewise.pipeline.durations import read_durations, run_durations, update_durations
from stagewise.pipeline.shards import parse_shard, refused_shard, split


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
