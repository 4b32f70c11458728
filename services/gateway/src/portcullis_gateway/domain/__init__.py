"""Pure decisions of the request path: provider resolution, custom-host policy, body
peeks, stream assembly, usage and cost, header redaction, error types. No I/O."""
