"""The report layer: the run record on disk (summary.json, history, latest)."""
