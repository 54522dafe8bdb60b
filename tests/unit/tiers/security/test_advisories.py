"""The local OSV advisory copy: reading it, matching versions, and the server pip-audit queries."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from stagewise.tiers.security.advisories import AdvisoryProblem, affects, load_advisories, normalise, serve
from stagewise.tiers.security.http import request

ADVISORIES = Path(__file__).parents[3] / "data" / "advisories"
SIX = "STAGEWISE-TEST-2026-0001"


def _post(url: str, body: bytes) -> tuple[int, Any]:
    answer = request("POST", url, headers={"Content-Type": "application/json"}, body=body, timeout=5)
    return answer.status, json.loads(answer.body)


def _query(name: str, version: str) -> bytes:
    return json.dumps({"package": {"name": name, "ecosystem": "PyPI"}, "version": version}).encode()


def test_a_folder_is_read_recursively_with_its_newest_date() -> None:
    advisories = load_advisories(ADVISORIES)
    assert advisories.count == 3
    assert advisories.newest == "2026-03-14"
    assert advisories.describe() == f"against advisories up to 2026-03-14 (3 advisories in {ADVISORIES})"
    assert set(advisories.by_package) == {"six", "stagewise-fixture-pkg"}


@pytest.mark.parametrize(
    ("version", "hit"),
    [("1.13.0", False), ("1.14.0", True), ("1.16.0", True), ("1.16.1", False), ("1.17.0", False)],
)
def test_an_ecosystem_range_covers_introduced_up_to_fixed(version: str, hit: bool) -> None:
    found = [a["id"] for a in load_advisories(ADVISORIES).matching("SIX", version)]
    assert found == ([SIX] if hit else [])  # the withdrawn advisory against every six never matches


def test_listed_versions_match_by_normalised_name_and_equal_version() -> None:
    advisories = load_advisories(ADVISORIES)
    assert normalise("Stagewise_Fixture.Pkg") == "stagewise-fixture-pkg"
    assert [a["id"] for a in advisories.matching("stagewise-fixture-pkg", "1.0")] == [
        "STAGEWISE-TEST-2025-0002"
    ]
    assert advisories.matching("stagewise_fixture_pkg", "1.0.1") == []


def test_last_affected_is_inclusive_and_other_range_types_are_ignored() -> None:
    def advisory(kind: str, events: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "id": "X",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "pkg"},
                    "ranges": [{"type": kind, "events": events}],
                }
            ],
        }

    last = advisory("ECOSYSTEM", [{"introduced": "0"}, {"last_affected": "2.0"}])
    assert affects(last, "pkg", "2.0")
    assert not affects(last, "pkg", "2.0.1")
    reopened = advisory("ECOSYSTEM", [{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}])
    assert [affects(reopened, "pkg", v) for v in ("0.9", "1.1", "1.5", "3.0")] == [False, True, False, True]
    assert not affects(advisory("GIT", [{"introduced": "0"}]), "pkg", "1.0")


def test_one_file_holding_a_list_and_an_osv_zip_are_read(tmp_path: Path) -> None:
    single = load_advisories(ADVISORIES / "PyPI" / "other" / "list.json")
    assert (single.count, single.newest) == (2, "2025-12-24")
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(ADVISORIES / "PyPI" / "six" / f"{SIX}.json", f"{SIX}.json")
    assert [a["id"] for a in load_advisories(archive).matching("six", "1.16.0")] == [SIX]


def test_a_broken_copy_names_the_file(tmp_path: Path) -> None:
    copy = tmp_path / "osv"
    shutil.copytree(ADVISORIES, copy)
    (copy / "PyPI" / "six" / "broken.json").write_text("{not json")
    with pytest.raises(AdvisoryProblem, match=r"broken\.json is not JSON"):
        load_advisories(copy)
    (copy / "PyPI" / "six" / "broken.json").write_text('{"summary": "no id"}')
    with pytest.raises(AdvisoryProblem, match=r"broken\.json: not an OSV advisory \(no 'id'\)"):
        load_advisories(copy)
    with pytest.raises(AdvisoryProblem, match="does not exist"):
        load_advisories(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AdvisoryProblem, match=r"holds no \.json files"):
        load_advisories(tmp_path / "empty")


def test_the_server_answers_pip_audits_query_from_the_files() -> None:
    with serve(load_advisories(ADVISORIES)) as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/v1/query")
        status, body = _post(url, _query("six", "1.16.0"))
        assert status == 200
        [vuln] = body["vulns"]
        assert vuln["id"] == SIX
        assert vuln["affected"][0]["package"]["name"] == "six"  # pip-audit finds fix versions by exact name
        assert _post(url, _query("six", "1.17.0")) == (200, {})
        assert _post(url, _query("unknown-package", "1.0")) == (200, {})
        assert _post(url, b"not json")[0] == 400
        assert _post(url.replace("/v1/query", "/v1/querybatch"), _query("six", "1.16.0"))[0] == 404
