"""Portcullis logger: consumes RequestLogged events from JetStream and keeps each request's
full log as one JSON object in S3-compatible storage; answers log-by-id over NATS."""
