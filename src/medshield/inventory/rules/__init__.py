"""Classification rules shipped as data (classification.yaml)."""
