"""The control plane's edges: the HTTP API and the command line."""
