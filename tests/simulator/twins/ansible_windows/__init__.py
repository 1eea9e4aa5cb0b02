"""Twins of the ansible.windows modules (one module per twin, named after the module)."""
