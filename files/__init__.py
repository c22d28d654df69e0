"""Scanned, encrypted, tenant-aware file storage (F1-F4, E4); built by the files issue."""
