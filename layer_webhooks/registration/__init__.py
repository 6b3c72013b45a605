"""Registration: plan (pure) and apply (over the REST client) Layer's webhooks for the hooks."""
