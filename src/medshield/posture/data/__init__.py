"""Reference data shipped with the posture checks."""
