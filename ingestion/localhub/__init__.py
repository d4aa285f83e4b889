"""The simulated Hub: a Hub-compatible server on loopback, its store, faults and a synthetic
ecosystem. Only tests, `bench/` and the demo use it; the product never needs it at run time."""
