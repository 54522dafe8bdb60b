"""Releases: a new version started beside the old one behind the stage's front door.

- :mod:`~stagewise.release.history`: one record per release in the stage's state dir;
- :mod:`~stagewise.release.frontdoor`: HAProxy on the stage's public port, switched
  through its admin socket;
- :mod:`~stagewise.release.slots`: the two instances (slots ``a`` and ``b``) of the
  released service on the local backend;
- :mod:`~stagewise.release.orchestrate`: ``release`` and ``rollback`` as one transaction.
"""
