"""The built-in zoo: one YAML spec per network. Installed as the `sizecalc.zoo` package."""
