"""stagewise: take a web service through its stages with one command line."""

__version__ = "0.1.0"
