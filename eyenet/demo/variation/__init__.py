"""snmpsim variation modules of the demo lab (copied next to the lab data, never imported by snmpsim from here)."""
