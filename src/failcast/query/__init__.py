"""Reading data back: downsampled metric ranges, log search and usage statistics."""
