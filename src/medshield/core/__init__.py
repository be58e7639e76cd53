"""Domain types shared by every layer: enums, errors, registry, packets, flows, observations."""
