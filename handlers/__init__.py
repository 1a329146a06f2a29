"""Thin messenger adapters: native events → engine `Incoming`, engine `Reply` → native messages."""
