"""Per-table checksums of a PostgreSQL database: order-free sums of 64-bit row hashes.

A table's checksum is the exact sum (``sum(bigint)`` is numeric) of one
64-bit hash per row, so it does not depend on row order, and a lost, added,
duplicated or altered row changes it (a row hash mixes every column, so even
values swapped between rows do). Two methods:

- ``sum-hashtextextended-0`` (older backups; a manifest without the field): each row's text form,
  ``hashtextextended(t::text, 0)``. Turning every value to text (timestamps
  above all) costs three times the hashing itself.
- ``sum-hashrecord-c-0`` (what backups write now): ``hash_record_extended``
  over the row's columns, each by its own type's hash where that hash is
  exact (equal hash input means equal stored value: integers, booleans,
  dates and timestamps, uuid, bytea, and text compared byte for byte under
  ``COLLATE "C"``); every other column (numeric, whose hash ignores scale;
  floats; json; anything without a hash) goes in as its text form, as in the
  old method; the row's combined hash is hashed once more, so that it is
  not linear in its columns. Which columns go which way follows from the
  schema alone, so a backup and its restore agree.
"""

from __future__ import annotations

from typing import Any

LEGACY_METHOD = "sum-hashtextextended-0"
RECORD_METHOD = "sum-hashrecord-c-0"
METHODS = (RECORD_METHOD, LEGACY_METHOD)

# Types whose hash function is exact (oid -> collatable): bool, bytea, "char", int8, int2,
# int4, text, oid, varchar, date, time, timestamp, timestamptz, uuid.
_EXACT = {16: False, 17: False, 18: False, 20: False, 21: False, 23: False, 25: True, 26: False}
_EXACT |= {1043: True, 1082: False, 1083: False, 1114: False, 1184: False, 2950: False}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def checksum_sql(db: Any, table: str, method: str) -> str:
    """The query giving ``count(*)`` and the checksum of ``public.<table>`` by ``method``."""
    source = f"public.{quote_ident(table)} AS t"
    if method == LEGACY_METHOD:
        row_hash = "hashtextextended(t::text, 0)"
    elif method == RECORD_METHOD:
        columns = db.execute(
            "SELECT a.attname, a.atttypid::int FROM pg_attribute a "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (f"public.{quote_ident(table)}",),
        ).fetchall()
        parts = []
        for name, type_oid in columns:
            column = f"t.{quote_ident(str(name))}"
            if int(type_oid) not in _EXACT:
                parts.append(f'({column}::text) COLLATE "C"')
            elif _EXACT[int(type_oid)]:
                parts.append(f'{column} COLLATE "C"')
            else:
                parts.append(column)
        # hash_record_extended combines its columns' hashes linearly (31 * h + next), so a sum
        # of it is a sum per column: values swapped between two rows would keep it. Hashing
        # that 64-bit value once more (its text: 20 bytes, cheap) makes each row's hash
        # non-linear in its columns, as the text of the whole row was.
        record = f"hash_record_extended(ROW({', '.join(parts)}), 0)" if parts else "0::bigint"
        row_hash = f"hashtextextended(({record})::text, 0)"
    else:
        raise ValueError(f"unknown checksum method {method!r}")
    return f"SELECT count(*), coalesce(sum({row_hash}), 0)::text FROM {source}"  # noqa: S608 - quoted
