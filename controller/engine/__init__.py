"""Policy engines behind one protocol: embedded (OPA in-process), remote (OPA server)."""
