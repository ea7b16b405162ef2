"""Shared pytest setup: each fixture module registers itself here."""

pytest_plugins = ["registry_server", "github_fake", "checkouts", "misbehaving"]
