"""``traceparent`` writes what OpenTelemetry's own W3C propagator writes."""

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from portcullis.telemetry import traceparent


@given(
    trace_id=st.integers(min_value=1, max_value=2**128 - 1),
    span_id=st.integers(min_value=1, max_value=2**64 - 1),
    sampled=st.booleans(),
)
def test_traceparent_matches_the_propagator(trace_id: int, span_id: int, sampled: bool) -> None:
    context = SpanContext(trace_id, span_id, False, TraceFlags(1 if sampled else 0))
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(
        carrier, trace.set_span_in_context(NonRecordingSpan(context))
    )
    assert traceparent(context) == carrier["traceparent"]
