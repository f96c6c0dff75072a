"""The shipped device profiles (one TOML file per vendor family), installed as eyenet.collectors."""
