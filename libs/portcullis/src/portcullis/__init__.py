"""Shared contracts of the Portcullis services: event bodies, NATS subjects and streams,
identifiers, telemetry set-up. No process lives here."""
