"""Posture checks: one module per finding kind, each with fixed title, severity, practice."""
