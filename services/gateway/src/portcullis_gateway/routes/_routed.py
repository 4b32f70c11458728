"""The routing engine's I/O half: walks a config tree (fallback, load balancing,
conditions, nested to any depth), calls targets with retries and timeouts, and answers
the caller with the outcome that ended the walk. Every decision is a pure function of
``portcullis_gateway.routing``; this module only calls, waits and records.

A stream commits to a target only once its first chunk has arrived: until a byte has
reached the caller, a failing target can still be retried or replaced.
"""

from __future__ import annotations

import asyncio
import random
from time import monotonic, perf_counter
from typing import Any

import msgspec
from portcullis.events import Attempt

from portcullis_gateway.domain.errors import CircuitOpen, GatewayError, InvalidRequest
from portcullis_gateway.domain.json_input import decode_object
from portcullis_gateway.domain.resolution import Routed, Target, bind_leaf
from portcullis_gateway.domain.translation import Prepared, serves
from portcullis_gateway.routes._call import Outcome, call_provider
from portcullis_gateway.routes._context import RequestContext
from portcullis_gateway.routes._relay import (
    call_upstream,
    mark_client_gone,
    prepare_call,
    relay_stream,
    send_answer,
    send_error,
    stream_headers,
    wait_disconnect,
)
from portcullis_gateway.routing import (
    ConfigError,
    Group,
    Leaf,
    Node,
    backoff_s,
    is_success,
    may_call_again,
    should_retry,
    triggers_fallback,
)
from portcullis_gateway.routing.circuit import circuit_key, counts_as_failure
from portcullis_gateway.routing.select import conditional_index, loadbalance_index, sticky_key

_START = "http.response.start"
_BODY = "http.response.body"
_JSON = b"application/json"
_decode = msgspec.json.decode


def _attempt_error(outcome: Outcome) -> dict | None:
    """The error of one attempt for the log: the gateway's own, or the provider's error
    object from its (already read, OpenAI-shaped) error body. Failures only."""
    if outcome.error is not None:
        return outcome.error.as_dict()
    if outcome.status < 400 or not outcome.payload:
        return None
    try:
        body = _decode(outcome.payload)
    except msgspec.DecodeError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


class CallerLeft(Exception):
    """The caller disconnected while the gateway was retrying or falling back."""


class RouteRun:
    """One request's walk through its config tree."""

    def __init__(self, ctx: RequestContext, routed: Routed) -> None:
        # The request's state (runtime, exchange, headers, body, ASGI callables).
        self.ctx = ctx
        # Watches for the caller leaving; started only at the first retry or fallback,
        # so a request whose first target answers pays nothing for it.
        self.gone: asyncio.Future | None = None
        self.routed = routed
        self.attempts: list[Attempt] = []
        # Upstream calls made (the attempt tree may be cleared on the fast path), and
        # whether MAX_UPSTREAM_ATTEMPTS stopped the walk.
        self.calls = 0
        self.limited = False
        self.upstream_ms = 0.0
        self._context: dict[str, Any] | None = None
        self.tried: Leaf | None = None
        self.tried_outcome: Outcome | None = None

    def context(self) -> dict[str, Any]:
        """What conditions and sticky keys read; the body is decoded only if asked."""
        if self._context is None:
            self._context = {
                "metadata": self.ctx.ex.metadata,
                "params": decode_object(self.ctx.body),
                "url": {"pathname": self.ctx.ex.path},
            }
        return self._context

    async def run(self, node: Node) -> Outcome:
        if isinstance(node, Leaf):
            if node is self.tried:
                # The fast path already called this target: its outcome, not a new call.
                self.tried = None
                assert self.tried_outcome is not None
                return self.tried_outcome
            return await self.leaf(node)
        return await self.group(node)

    def out_of_attempts(self) -> bool:
        """No call is left for this request: the walk ends with the outcome it has."""
        if may_call_again(self.calls, self.ctx.rt.settings.max_upstream_attempts):
            return False
        self.limited = True
        return True

    async def group(self, group: Group) -> Outcome:
        mode = group.mode
        if mode == "fallback":
            outcome = None
            for i, child in enumerate(group.children):
                if outcome is not None:
                    if self.out_of_attempts():
                        break
                    outcome.discard()
                    self.check_caller()
                    self.ctx.ex.fallbacks += 1
                outcome = await self.run(child)
                if i == len(group.children) - 1 or not triggers_fallback(
                    outcome.status, outcome.error is not None, group.on_status_codes
                ):
                    break
            assert outcome is not None
            return outcome
        if mode == "loadbalance":
            return await self.loadbalance(group)
        if mode == "conditional":
            try:
                index = conditional_index(group, self.context())
            except ConfigError as exc:  # a value too long for a $regex
                raise InvalidRequest(str(exc), code=exc.code) from None
            if index is None:
                raise InvalidRequest(
                    f"no condition of {group.path} matched this request and it has no default",
                    code="no_matching_condition",
                )
        else:  # single
            index = 0
        return await self.run(group.children[index])

    async def loadbalance(self, group: Group) -> Outcome:
        # A child whose circuit is open is skipped and the choice made again without it.
        skip: set[int] = set()
        while True:
            index = self.pick_loadbalance(group, skip)
            outcome = await self.run(group.children[index])
            if outcome.error is None or outcome.error.code != "circuit_open":
                return outcome
            skip.add(index)
            if len(skip) == len(group.children) or loadbalance_index(group, 0.0, skip) is None:
                return outcome
            if self.out_of_attempts():
                return outcome

    def pick_loadbalance(self, group: Group, skip: set[int]) -> int:
        key = sticky_key(group, self.context()) if group.sticky is not None else None
        if key is None:
            index = loadbalance_index(group, random.random(), skip)
        else:
            # Pinned for the TTL, so a conversation moved off an open circuit stays on
            # its new target instead of flapping back when the circuit closes.
            assert group.sticky is not None
            now = monotonic()
            pins = self.ctx.rt.sticky_pins
            index = pins.get(key, now)
            if index is None or index in skip:
                index = loadbalance_index(group, 0.0, skip, key=key)
                if index is not None:
                    pins.put(key, index, group.sticky.ttl, now)
        assert index is not None  # callers stop before every child is skipped
        return index

    def bind(self, leaf: Leaf) -> Target:
        target = bind_leaf(
            leaf,
            self.ctx.inbound.portkey,
            self.ctx.inbound.authorization,
            self.ctx.rt.policy,
            self.ctx.rt.providers,
            self.routed.header_timeout_s,
        )
        if not serves(self.ctx.rt.providers[target.provider], self.ctx.suffix):
            raise InvalidRequest(
                f"provider {target.provider!r} does not serve /v1{self.ctx.suffix}"
            )
        return target

    async def leaf(self, leaf: Leaf) -> Outcome:
        ex = self.ctx.ex
        target = self.bind(leaf)
        circuit = leaf.settings.circuit
        circuit_id = None
        ticket: str | None = ""
        if circuit is not None:
            credential = target.credential[1] if target.credential else None
            circuit_id = circuit_key(target.provider, target.base_url, credential)
            # A half-open circuit admits one probe across replicas; its ticket says so.
            ticket = await self.ctx.rt.circuits.admit(circuit_id, target.timeout_s)
            if ticket is None:
                return self.skipped(leaf, target)
        params = None
        override = leaf.settings.override_params
        if override:
            params = {**self.context()["params"], **override}
            if isinstance(override.get("model"), str):
                ex.model = override["model"]
        prepared = await prepare_call(self.ctx, target, params)
        retry = leaf.settings.retry
        retries = 0
        while True:
            outcome = await self.call(leaf, target, prepared, retries)
            outcome.retries = retries
            if circuit_id is not None:
                assert circuit is not None
                failed = counts_as_failure(outcome.status, outcome.error is not None, circuit)
                self.ctx.rt.circuits.record(circuit_id, circuit, failed, ticket)
            if is_success(outcome.status) or not should_retry(outcome.status, retry, retries):
                return outcome
            if self.out_of_attempts():
                return outcome
            assert retry is not None
            delay = backoff_s(
                retries,
                random.random(),
                outcome.retry_after_s if retry.use_retry_after_header else None,
                self.ctx.rt.settings.retry_after_cap_s,
            )
            if delay is None:
                return outcome
            outcome.discard()
            await self.pause(delay)
            if circuit_id is not None:
                # The failures may have opened the circuit (or a probe just failed): an
                # open circuit is not called, by a retry either.
                ticket = await self.ctx.rt.circuits.admit(circuit_id, target.timeout_s)
                if ticket is None:
                    return outcome
            retries += 1
            ex.retries_total += 1

    async def first_try(self, leaf: Leaf) -> Outcome | None:
        """The target a config tries first, called the way a single target is
        (``call_upstream``), for the common case where it answers: then it has answered
        the caller and this returns None. A failure is not sent but returned, recorded
        as the walk records a call, for the walk to go on from."""
        ex = self.ctx.ex
        target = self.bind(leaf)
        ex.chose(target.provider, target.prices_id)
        ex.option_index = leaf.path
        outcome = await call_upstream(self.ctx, target, hold_failures=True)
        if outcome is None:
            self.attempts.clear()  # one call: no tree, as on the single-call path
            return None
        outcome.leaf, outcome.target = leaf, target
        self.record(outcome, outcome.latency_ms, 0)
        return outcome

    def record(self, outcome: Outcome, latency_ms: float, retry_no: int) -> None:
        """One call in the attempt tree, and its time in the upstream total."""
        self.calls += 1
        self.upstream_ms += latency_ms
        assert outcome.leaf is not None and outcome.target is not None
        self.attempts.append(
            Attempt(
                path=outcome.leaf.path,
                provider=outcome.target.provider,
                status=outcome.status,
                latency_ms=round(latency_ms, 3),
                retry=retry_no,
                error=_attempt_error(outcome),
            )
        )

    def check_caller(self) -> None:
        if self.gone is None:
            self.gone = asyncio.ensure_future(wait_disconnect(self.ctx.receive))
        elif self.gone.done():
            raise CallerLeft

    async def pause(self, delay: float) -> None:
        """Sleep before a retry, unless the caller leaves first (then stop calling)."""
        self.check_caller()
        assert self.gone is not None
        await asyncio.wait((self.gone,), timeout=delay)
        if self.gone.done():
            raise CallerLeft

    def stop_watching(self) -> None:
        # The stream relay watches the connection itself: only one reader of receive().
        if self.gone is not None:
            self.gone.cancel()

    def skipped(self, leaf: Leaf, target: Target) -> Outcome:
        outcome = Outcome(None, perf_counter())
        outcome.leaf, outcome.target = leaf, target
        outcome.error = CircuitOpen(
            f"the circuit of {target.provider} target {leaf.path} is open after repeated "
            "failures; it is not called until its cooldown ends"
        )
        outcome.status = outcome.error.status
        self.attempts.append(
            Attempt(path=leaf.path, provider=target.provider, skipped="circuit_open")
        )
        return outcome

    async def call(self, leaf: Leaf, target: Target, prepared: Prepared, retry_no: int) -> Outcome:
        outcome = await call_provider(
            self.ctx.rt,
            prepared,
            target.provider,
            target.timeout_s,
            stream=self.ctx.ex.stream,
            first_chunk=True,
        )
        outcome.leaf, outcome.target = leaf, target
        self.record(outcome, outcome.latency_ms, retry_no)
        return outcome

    async def answer(self, outcome: Outcome) -> None:
        ex = self.ctx.ex
        leaf, target, prepared = outcome.leaf, outcome.target, outcome.prepared
        assert leaf is not None and target is not None
        ex.chose(target.provider, target.prices_id)
        url = prepared.url if prepared is not None else target.base_url + self.ctx.suffix
        ex.calling(url, prepared.notes if prepared is not None else None)
        if self.limited:
            limit = self.ctx.rt.settings.max_upstream_attempts
            ex.notes = [
                *(ex.notes or ()),
                f"routing stopped after {limit} upstream attempts (MAX_UPSTREAM_ATTEMPTS)",
            ]
        ex.retry_count = outcome.retries
        ex.option_index = leaf.path
        ex.attempts = self.attempts
        ex.rescued = is_success(outcome.status) and any(
            not is_success(a.status) for a in self.attempts
        )
        if outcome.error is not None:
            ex.upstream_ms = self.upstream_ms
            await send_error(self.ctx.send, ex, outcome.error)
            return
        # The answering call's latency; with one call (no tree kept) it is all of it.
        last_ms = self.attempts[-1].latency_ms if self.attempts else self.upstream_ms
        ex.first_byte_ms = (outcome.sent_at - self.ctx.t0) * 1000 + (
            last_ms if outcome.resp is None else 0.0
        )
        out = outcome.headers
        if outcome.resp is not None:
            first_chunk_ms = (outcome.first_chunk_at - self.ctx.t0) * 1000
            ex.first_byte_ms = first_chunk_ms
            before = self.upstream_ms - last_ms
            assert prepared is not None  # only a skipped target has none, and no stream
            translator = stream_headers(ex, prepared, out, outcome.content_type)
            resp = outcome.resp
            try:
                await relay_stream(
                    self.ctx,
                    resp,
                    out,
                    outcome.sent_at,
                    url,
                    outcome.first_chunk,
                    first_chunk_ms,
                    translator,
                )
            finally:
                resp.release()
                ex.upstream_ms = (ex.upstream_ms or 0.0) + before
            return
        ex.upstream_ms = self.upstream_ms
        await send_answer(
            self.ctx.send, ex, outcome.status, out, outcome.payload, outcome.content_type
        )


async def call_routed(ctx: RequestContext, routed: Routed) -> None:
    ex = ctx.ex
    run = RouteRun(ctx, routed)
    root = routed.root
    try:
        first = root.first_leaf if isinstance(root, Group) else None
        outcome = None
        if first is not None:
            # The common case costs what a single call costs: the target every request
            # tries first is known from the config alone. Only a failure starts the
            # walk, which reuses this outcome when it reaches that target.
            if _plain(first) and not ex.stream:
                tried = await run.first_try(first)
                if tried is None:
                    return  # answered
            else:
                tried = await run.leaf(first)
                if is_success(tried.status):
                    if len(run.attempts) == 1:
                        run.attempts.clear()  # one call: no tree, as on a single call
                    outcome = tried
            if outcome is None:
                run.tried, run.tried_outcome = first, tried
        if outcome is None:
            outcome = await run.run(root)
    except GatewayError:
        ex.attempts = run.attempts
        raise
    except CallerLeft:
        ex.attempts = run.attempts
        ex.upstream_ms = run.upstream_ms
        mark_client_gone(ex, "client disconnected while the gateway was retrying")
        return
    finally:
        run.stop_watching()
    await run.answer(outcome)


def _plain(leaf: Leaf) -> bool:
    """A target called exactly as a single target is: no circuit to consult, no retries,
    no parameters to override."""
    settings = leaf.settings
    return (
        settings.circuit is None
        and settings.override_params is None
        and (settings.retry is None or settings.retry.attempts == 0)
    )
