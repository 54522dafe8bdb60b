"""Which lines of a ``pg_restore --list --section=data`` listing belong to which table."""

from __future__ import annotations

from stagewise.dataops.pg_load import data_entries

LISTING = """;
; Archive created at 2026-12-03 18:14:46 UTC
;     dbname: shop
;
; Selected TOC Entries:
;
3354; 0 29673 TABLE DATA public narrow postgres
3352; 0 29663 TABLE DATA public wide table postgres
3353; 0 29664 TABLE DATA audit wide postgres
3363; 0 0 SEQUENCE SET public narrow_id_seq postgres
3370; 0 0 BLOBS - BLOBS
"""


def test_public_table_data_by_table_and_everything_else_kept() -> None:
    tables, others = data_entries(LISTING)
    assert tables == {
        "narrow": "3354; 0 29673 TABLE DATA public narrow postgres",
        "wide table": "3352; 0 29663 TABLE DATA public wide table postgres",
    }
    assert others == [
        "3353; 0 29664 TABLE DATA audit wide postgres",
        "3363; 0 0 SEQUENCE SET public narrow_id_seq postgres",
        "3370; 0 0 BLOBS - BLOBS",
    ]


def test_an_empty_listing_has_nothing_to_load() -> None:
    assert data_entries(";\n; Selected TOC Entries:\n;\n") == ({}, [])
