"""Two-factor authentication: TOTP authenticator apps with one-time recovery codes."""
