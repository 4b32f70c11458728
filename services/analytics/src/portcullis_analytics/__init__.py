"""Portcullis analytics: consumes RequestMetered events from JetStream into ClickHouse
(embedded chDB by default, or a ClickHouse server) and answers analytics-graph queries."""
