"""Packets to flows: vectorised header decoding, the flow table, per-direction reassembly of
the first bytes, host sightings and capture totals. Pure computation: no I/O here."""
