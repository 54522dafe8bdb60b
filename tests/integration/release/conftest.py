"""The one-node swarm of the swarm backend's tests, shared with the swarm release tests."""

from tests.integration.backends.conftest import one_node_swarm

__all__ = ["one_node_swarm"]
