"""The service catalogue: what is monitored, of which kind, owned by whom."""
