"""Sample and log storage: bulk writes on each engine's fastest path, and range queries."""
