"""Background work: task functions and the runner that executes them (in-process here,
over a Redis-backed queue in scale-out mode)."""
