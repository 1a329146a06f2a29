"""The domain: plain functions and small classes over plain data."""
