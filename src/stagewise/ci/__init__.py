"""``stagewise ci github|gitlab``: the project's pipeline written for its CI, from the project file."""
