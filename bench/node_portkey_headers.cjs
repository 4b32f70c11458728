// Preloaded into Portkey's gateway by the benchmark (node --require), for streams only.
// Portkey 1.15.2 on Node wraps the upstream's fetch() Response for a stream in a new
// Response that keeps the upstream's headers object, whose guard is "immutable", then
// appends its x-portkey-* headers to it: every stream answers 500 "TypeError: immutable"
// (Portkey-AI/gateway issues 1389 and 1550). This hands Portkey a copy of a streamed
// upstream response with ordinary headers, which is what the proposed upstream fix does;
// non-stream responses are passed through untouched, so only streams pay for the copy.
"use strict";
const upstreamFetch = globalThis.fetch;
const NodeResponse = globalThis.Response; // undici's, before @hono/node-server replaces it
globalThis.fetch = async function (...args) {
  const response = await upstreamFetch.apply(this, args);
  if (!(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
    return response;
  }
  return new NodeResponse(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  });
};
