"""golive: gate AI-agent deployments on a go-live checklist written as Rego policies."""

__version__ = "0.1.0"
