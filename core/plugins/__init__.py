"""Plugin discovery, loading, lifecycle (activate, deactivate, uninstall) and upload."""
