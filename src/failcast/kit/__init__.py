"""Small helpers every HTTP-facing package shares, kept apart from any one domain so that
sharing them draws no dependency between domains."""
