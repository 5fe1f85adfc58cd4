"""Submits that write once: a portal form's one-use token and an API request's Idempotency-Key
name one write, recorded in the same transaction as the write itself."""
