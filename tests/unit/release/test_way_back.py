"""How a rollback puts the schema back across the releases served since the one it goes back to."""

from __future__ import annotations

from stagewise.release.history import ReleaseRecord
from stagewise.release.steps import way_back


def _r(
    rid: str, before: str | None, after: str | None, *, proven: bool = False, kind: str = "release", **kw: str
) -> ReleaseRecord:
    return ReleaseRecord(
        id=rid,
        stage="dev",
        kind=kind,
        version=rid,
        commit=None,
        revision_before=before,
        revision_after=after,
        downgrade_proven=proven,
        backup=kw.get("backup", f"/b/{rid}-pre.dump"),
        outcome=kw.get("outcome", "released"),
    )


V1 = _r("v1", None, "0001")


def test_back_to_the_previous_release_by_its_proven_downgrade() -> None:
    v2 = _r("v2", "0001", "0002", proven=True)
    assert way_back([V1, v2], v2, V1) == (True, None)


def test_back_to_the_previous_release_by_its_pre_release_backup() -> None:
    v2 = _r("v2", "0001", "0002")
    assert way_back([V1, v2], v2, V1) == (False, "/b/v2-pre.dump")


def test_back_two_releases_needs_every_downgrade_proven() -> None:
    v2, v3 = _r("v2", "0001", "0002", proven=True), _r("v3", "0002", "0003", proven=True)
    assert way_back([V1, v2, v3], v3, V1) == (True, None)
    v2 = _r("v2", "0001", "0002")  # v2's downgrade was never proven
    assert way_back([V1, v2, v3], v3, V1) == (False, "/b/v2-pre.dump")


def test_back_two_releases_restores_the_backup_taken_at_the_target_s_revision() -> None:
    """Not the current release's backup: that one holds v2's schema, not v1's."""
    v2, v3 = _r("v2", "0001", "0002"), _r("v3", "0002", "0003")
    assert way_back([V1, v2, v3], v3, V1) == (False, "/b/v2-pre.dump")


def test_failed_releases_and_schema_less_ones_do_not_count() -> None:
    failed = _r("v2", "0001", "0001", outcome="failed", backup="")
    same = _r("v3", "0001", "0001", backup="/b/v3-pre.dump")
    v4 = _r("v4", "0001", "0002", proven=True)
    assert way_back([V1, failed, same, v4], v4, V1) == (True, None)


def test_nothing_kept_at_the_target_s_revision() -> None:
    v2 = _r("v2", "0001", "0002", backup="")
    assert way_back([V1, v2], v2, V1) == (False, None)
