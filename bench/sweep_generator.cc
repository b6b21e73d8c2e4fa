// Sweep generator: placeholder.
