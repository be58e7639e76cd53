"""MedShield: passive discovery, posture and risk assessment for connected medical devices."""

__version__ = "0.1.0"
