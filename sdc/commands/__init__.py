"""CLI commands that the app's `sdc` group adds (plain click, no app needed)."""
