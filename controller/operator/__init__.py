"""Thin kopf handlers and the admission webhook; the only package that imports kopf."""
