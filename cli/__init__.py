"""complexity.cli: the `complexity` command (loads models, calls the analyzer, renders)."""
