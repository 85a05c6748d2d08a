"""Integration sources: the systems people work in, read in bulk behind the core's protocols."""
