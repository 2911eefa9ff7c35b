"""Fetch stage: HTTP I/O (http.py) apart from pure parsers (one module per kind)."""
