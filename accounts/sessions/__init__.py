"""Browser sessions (A7, A9, A10): a hashed-key database session store, the per-request
lifetime checks, revocation, and the "Your sessions" pages and API."""
