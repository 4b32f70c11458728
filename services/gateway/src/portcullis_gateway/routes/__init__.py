"""HTTP entry points: thin translation between requests and the domain/adapters."""
