"""The version of sizecalc (read by setup.cfg and printed by `--version`, SARIF and export)."""

__version__ = "0.1.0"
