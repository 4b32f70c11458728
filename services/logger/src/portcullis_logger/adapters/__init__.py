"""The logger's edges: the S3 log store and its JetStream set-up."""
