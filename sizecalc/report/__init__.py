"""Renderers: Report -> text. Each module imports only what its format needs."""
