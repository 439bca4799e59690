"""Every generator side by side on the same target poses and seeds: the "approach 1 vs 2" table."""
