"""What the monitor watches: one contract, and its three sources (live, attached,
replay)."""
