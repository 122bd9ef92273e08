"""Hyperparameter tuning jobs: an optimizer over child training jobs (see controller)."""
