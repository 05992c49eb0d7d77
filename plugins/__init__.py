"""Bundled plugins: each sub-package is a plugin registered exactly like a third-party one."""
