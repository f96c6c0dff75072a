"""SNMP: a sans-io codec (ber, message, values, errors) and its Trio edge (client, table).

Import from the submodules: the package itself loads nothing, so the pure codec never
brings Trio with it."""
