"""Platform clients, one module per platform, found by name through `registry`."""
