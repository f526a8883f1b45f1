"""Plans and their limits, usage metering, quotas, Stripe billing and plan-based retention."""
