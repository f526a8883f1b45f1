"""PDF reliability reports: on demand, stored, and mailed weekly to subscribers."""
