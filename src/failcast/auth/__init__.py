"""Who is calling: passwords, tokens, API keys and the principal every endpoint depends on."""
