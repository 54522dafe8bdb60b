"""Which dump ids of a ``pg_restore --list`` listing are which public table's data."""

from __future__ import annotations

from stagewise.dataops.pg_load import data_ids

FULL_LISTING = """;
; Selected TOC Entries:
;
214; 1259 16389 TABLE public a postgres
215; 1259 16396 TABLE public b x postgres
3344; 0 16389 TABLE DATA public a postgres
3345; 0 16396 TABLE DATA public b x postgres
3346; 0 16397 TABLE DATA audit a postgres
3201; 2606 16395 CONSTRAINT public a a_pkey postgres
"""


def test_data_ids_map_the_dump_ids_pg_restore_logs_to_public_tables() -> None:
    """``finished item 3345 TABLE DATA b x`` names no schema: the dump id does."""
    assert data_ids(FULL_LISTING) == {"3344": "a", "3345": "b x"}
