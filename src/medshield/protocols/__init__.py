"""Protocol dissectors: one module per protocol, pure functions from bytes to observations."""
