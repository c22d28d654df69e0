"""Per-organisation keys (E2, E5, E6) and field encryption (E3).

Envelope model: each organisation has one key-encryption key (KEK) held by a KeyProvider
(a local master-key envelope, or one AWS KMS key per organisation) and versioned data keys
(DEKs) stored only wrapped. DEKs encrypt fields (AES-256-GCM) and key the audit chain (via
HKDF). Destroying the KEK makes every DEK, and so every value, unreadable (crypto-shredding).
"""
