"""A narrowed tier drops its xdist workers only when they could not pay (``one_process``)."""

from __future__ import annotations

from stagewise.pipeline.changed import TierChoice
from stagewise.pipeline.changed_plan import ONE_PROCESS_SECONDS, one_process

KEPT = frozenset({"tests/test_a.py::test_one", "tests/test_b.py::test_two"})


def choice(files: frozenset[str] = frozenset()) -> TierChoice:
    return TierChoice(tier="integration", whole=False, reason="2 of 80", keep=KEPT, files=files)


def quick() -> dict[str, float]:
    return dict.fromkeys(KEPT, 0.5)


def test_a_few_quick_tests_of_a_tier_on_workers_run_in_one_process() -> None:
    args, note = one_process(("-n", "2"), ("-n", "2"), choice(), quick())
    assert args == ("-n", "2", "-n", "0")
    assert "2 test(s), 1.0 s recorded" in note


def test_the_workers_stay_when_the_kept_tests_take_long_enough() -> None:
    slow = dict.fromkeys(KEPT, ONE_PROCESS_SECONDS / 2)
    assert one_process(("-n", "2"), ("-n", "2"), choice(), slow) == (("-n", "2"), "")


def test_the_workers_stay_when_a_kept_test_has_no_recorded_time() -> None:
    times = {"tests/test_a.py::test_one": 0.1}
    assert one_process(("-nauto",), ("-nauto",), choice(), times) == (("-nauto",), "")


def test_the_workers_stay_when_a_changed_test_file_runs_whole() -> None:
    narrowed = choice(files=frozenset({"tests/test_c.py"}))
    assert one_process(("-n", "2"), ("-n", "2"), narrowed, quick()) == (("-n", "2"), "")


def test_a_tier_without_workers_is_left_alone() -> None:
    assert one_process(("-x",), ("-x",), choice(), quick()) == (("-x",), "")


def test_workers_asked_for_after_the_double_dash_win() -> None:
    asked = ("--numprocesses=2", "-n", "4")
    assert one_process(asked, ("--numprocesses=2",), choice(), quick()) == (asked, "")
