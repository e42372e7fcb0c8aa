"""Builders of the embedded datasets, each called as ``build(root=...)`` from a dataset YAML."""
