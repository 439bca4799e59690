"""Human review of filter decisions: the overrides file, `adgen review apply`, `adgen review serve`."""
