"""Maintenance tools run with ``python -m sdc.tools.<name>``."""
