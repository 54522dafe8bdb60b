"""Data operations: migrate, backup, verify, restore — one module per store."""
