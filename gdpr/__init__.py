"""Data-subject requests, retention, consent and erasure (G1-G7); built by the GDPR issue."""
