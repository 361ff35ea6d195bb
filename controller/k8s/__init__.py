"""All Kubernetes API I/O lives here."""
