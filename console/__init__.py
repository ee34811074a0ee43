"""The cmo console: a Textual app (console.app) and the `cmo` command line (console.cli)."""
