"""The throwaway PostgreSQL database fixture of the data-operation tests, shared here."""

from tests.integration.dataops.conftest import pg_database

__all__ = ["pg_database"]
