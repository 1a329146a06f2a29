"""Conversations, one per module, messenger-agnostic. They never import a messenger SDK."""
