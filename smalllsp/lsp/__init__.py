"""The LSP layer: protocol hardening, items, progress and the status payloads."""
