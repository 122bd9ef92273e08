"""Batch transform: transform jobs run the model's serving runtime over S3 data."""
