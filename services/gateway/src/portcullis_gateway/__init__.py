"""Portcullis gateway: the request path. One OpenAI-compatible endpoint in front of the
providers, with Portkey's headers, and log/metric events handed to NATS off the path."""
