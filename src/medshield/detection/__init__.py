"""Behaviour monitoring: detectors that turn flows, observations and host sightings into
alerts (PRODUCT.md alert kinds), one module per detector behind an explicit registry."""
