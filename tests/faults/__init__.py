"""Fault tests: the pipeline's invariants under worker kills, broker and database outages, and load."""
