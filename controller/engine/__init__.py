"""Policy engines behind one protocol: embedded (regopy), remote (OPA server), fake."""
