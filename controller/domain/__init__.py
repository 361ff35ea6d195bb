"""Pure domain: the model, policy input, decision and cost projection. No I/O here."""
