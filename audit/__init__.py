"""Tamper-evident audit log (L1-L9); built by the keys and audit issue."""
