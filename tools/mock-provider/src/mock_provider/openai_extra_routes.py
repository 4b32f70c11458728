"""OpenAI's endpoints beyond chat, completions and embeddings: images, audio (binary
speech, multipart transcriptions), moderations, rerank, model retrieval, files, batches,
fine-tuning jobs and the Responses API (JSON and SSE). Files, batches, jobs and stored
responses live in memory, per worker, like the recorder.

The recorder keeps what a test needs to check an upload — content type, byte count,
SHA-256 and the multipart fields and file summaries — never the uploaded bytes."""

from __future__ import annotations

import asyncio
import hashlib
import re
from urllib.parse import parse_qs

import msgspec

from mock_provider import knobs as knob_parsing
from mock_provider import openai_extra_format as shapes
from mock_provider import openai_format as fmt
from mock_provider import openai_jobs_format as jobs_fmt
from mock_provider import responses_format as responses_fmt
from mock_provider.knobs import KnobError, Knobs
from mock_provider.multipart_form import Form, FormError, parse_form
from mock_provider.responding import Streamer, paced, send_error, send_json

_decode = msgspec.json.decode
FILE_CHUNK = 64 * 1024
_TERMINAL_BATCH = frozenset({"completed", "failed", "expired", "cancelled"})


class Call:
    """One request as a handler sees it."""

    __slots__ = ("route", "ids", "query", "content_type", "raw", "json", "form", "knobs")

    def __init__(self, route: str, ids: tuple[str, ...], query: str, content_type: str, raw: bytes):
        self.route = route
        self.ids = ids
        self.query = {k: v[-1] for k, v in parse_qs(query).items()}
        self.content_type = content_type
        self.raw = raw
        self.json: object = None
        self.form: Form | None = None
        self.knobs: Knobs = knob_parsing.DEFAULT

    def field(self, name: str, default: str | None = None) -> str | None:
        """A form field or a JSON member, whichever the endpoint takes."""
        if self.form is not None:
            return self.form.fields.get(name, default)
        value = self.json.get(name, default) if isinstance(self.json, dict) else default
        return None if value is None else str(value)


class Problem(Exception):
    """An answer in OpenAI's error shape (404 for an unknown id, 400 for a bad body)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def body(self) -> dict:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": str(self), "type": kind, "param": None, "code": self.code}}


_ROUTES: list[tuple[str, re.Pattern, str]] = [
    (method, re.compile(pattern), name)
    for method, pattern, name in (
        ("POST", r"/v1/images/generations", "images_generate"),
        ("POST", r"/v1/images/edits", "images_edit"),
        ("POST", r"/v1/images/variations", "images_variation"),
        ("POST", r"/v1/audio/speech", "speech"),
        ("POST", r"/v1/audio/(transcriptions|translations)", "transcription"),
        ("POST", r"/v1/moderations", "moderations"),
        ("POST", r"/v1/rerank", "rerank"),
        ("GET", r"/v1/models", "model_list"),
        ("GET", r"/v1/models/([^/]+)", "model"),
        ("POST", r"/v1/files", "file_upload"),
        ("GET", r"/v1/files", "file_list"),
        ("GET", r"/v1/files/([^/]+)", "file_get"),
        ("DELETE", r"/v1/files/([^/]+)", "file_delete"),
        ("GET", r"/v1/files/([^/]+)/content", "file_content"),
        ("POST", r"/v1/batches", "batch_create"),
        ("GET", r"/v1/batches", "batch_list"),
        ("GET", r"/v1/batches/([^/]+)", "batch_get"),
        ("POST", r"/v1/batches/([^/]+)/cancel", "batch_cancel"),
        ("POST", r"/v1/fine_tuning/jobs", "job_create"),
        ("GET", r"/v1/fine_tuning/jobs", "job_list"),
        ("GET", r"/v1/fine_tuning/jobs/([^/]+)", "job_get"),
        ("GET", r"/v1/fine_tuning/jobs/([^/]+)/events", "job_events"),
        ("GET", r"/v1/fine_tuning/jobs/([^/]+)/checkpoints", "job_checkpoints"),
        ("POST", r"/v1/fine_tuning/jobs/([^/]+)/cancel", "job_cancel"),
        ("POST", r"/v1/responses", "response_create"),
        ("GET", r"/v1/responses/([^/]+)", "response_get"),
        ("DELETE", r"/v1/responses/([^/]+)", "response_delete"),
        ("GET", r"/v1/responses/([^/]+)/input_items", "response_items"),
    )
]
_MULTIPART = frozenset({"images_edit", "images_variation", "transcription", "file_upload"})


def _match(method: str | None, route: str) -> tuple[str, tuple[str, ...]] | None:
    for want, pattern, name in _ROUTES:
        found = pattern.fullmatch(route)
        if found is not None and (method is None or method == want):
            return name, found.groups()
    return None


def _page(items: list[dict], query: dict[str, str], newest_first: bool = True) -> dict:
    ordered = (
        list(reversed(items))
        if query.get("order", "desc" if newest_first else "asc") == "desc"
        else list(items)
    )
    after = query.get("after")
    if after is not None:
        ids = [item["id"] for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    limit = int(query.get("limit", "20"))
    page = shapes.list_page(ordered[:limit])
    page["has_more"] = len(ordered) > limit
    return page


class OpenAIExtra:
    def __init__(self, provider) -> None:
        self.provider = provider
        self.files: dict[str, tuple[dict, bytes]] = {}
        self.batches: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}
        self.events_by_job: dict[str, list[dict]] = {}
        self.responses: dict[str, tuple[dict, list[dict]]] = {}

    @staticmethod
    def claims(route: str) -> bool:
        return _match(None, route) is not None

    async def serve(self, scope, route: str, path_knobs: dict, raw: bytes, send) -> None:
        method = scope["method"]
        content_type = next(
            (v.decode("latin-1") for n, v in scope["headers"] if n.lower() == b"content-type"), ""
        )
        call = Call(route, (), scope.get("query_string", b"").decode("latin-1"), content_type, raw)
        found = _match(method, route)
        try:
            self._read(call, found[0] if found else None)
        except Problem as problem:
            self._remember(scope, call)
            await send_json(send, problem.status, problem.body())
            return
        self._remember(scope, call)
        if found is None:
            await send_json(send, 405, fmt.error_body(405, f"{method} is not allowed on {route}"))
            return
        name, call.ids = found
        body_knobs = call.json.get("mock") if isinstance(call.json, dict) else None
        try:
            call.knobs = knob_parsing.merge(path_knobs, body_knobs)
        except KnobError as exc:
            await send_json(send, 400, fmt.error_body(400, str(exc)))
            return
        if call.knobs.fail_times is not None:
            call.knobs = self.provider._recovering(call.knobs)
        if call.knobs.latency_ms:
            await asyncio.sleep(call.knobs.latency_ms / 1000)
        if call.knobs.status != 200:
            await send_error(send, call.knobs)
            return
        try:
            await getattr(self, name)(call, send)
        except Problem as problem:
            await send_json(send, problem.status, problem.body())

    def _read(self, call: Call, name: str | None) -> None:
        if name in _MULTIPART:
            try:
                call.form = parse_form(call.content_type, call.raw)
            except FormError as exc:
                raise Problem(400, str(exc)) from None
        elif call.raw:
            try:
                call.json = _decode(call.raw)
            except msgspec.DecodeError:
                raise Problem(400, "request body is not valid JSON") from None

    def _remember(self, scope, call: Call) -> None:
        # The recorder's own entry (method, path, headers), then what an upload was.
        self.provider._record(scope, scope["path"], b"")
        entry = self.provider.recorded[-1]
        entry["body"] = call.form.summary() if call.form is not None else call.json
        entry["content_type"] = call.content_type
        entry["bytes"] = len(call.raw)
        entry["sha256"] = hashlib.sha256(call.raw).hexdigest()

    def _body(self, call: Call) -> dict:
        if not isinstance(call.json, dict):
            raise Problem(400, "request body must be a JSON object")
        return call.json

    @staticmethod
    def _file_part(call: Call, *names: str):
        assert call.form is not None
        for name in names:
            part = call.form.files.get(name)
            if part is not None:
                return part
        raise Problem(400, f"missing file field {names[0]!r}")

    # --- images, audio, moderations, rerank, models ----------------------------------

    async def images_generate(self, call: Call, send) -> None:
        body = self._body(call)
        prompt = body.get("prompt") or ""
        answer = shapes.image_data(
            int(body.get("n") or 1), body.get("response_format"), f"mock image of: {prompt}"
        )
        await send_json(send, 200, answer)

    async def images_edit(self, call: Call, send) -> None:
        image = self._file_part(call, "image", "image[]")
        revised = (
            f"mock edit of {image.filename} ({len(image.data)} bytes): {call.field('prompt', '')}"
        )
        answer = shapes.image_data(
            int(call.field("n", "1")), call.field("response_format"), revised
        )
        await send_json(send, 200, answer)

    async def images_variation(self, call: Call, send) -> None:
        self._file_part(call, "image")
        answer = shapes.image_data(int(call.field("n", "1")), call.field("response_format"), None)
        await send_json(send, 200, answer)

    async def speech(self, call: Call, send) -> None:
        body = self._body(call)
        response_format = body.get("response_format") or "mp3"
        if response_format not in shapes.SPEECH_TYPES:
            raise Problem(400, f"unsupported response_format {response_format!r}")
        audio = shapes.speech_audio(str(body.get("input") or ""), response_format)
        headers = [
            (b"content-type", shapes.SPEECH_TYPES[response_format]),
            (b"content-length", str(len(audio)).encode()),
        ]
        out = Streamer(send, call.knobs, done=b"")
        await paced(out, ((chunk, True) for chunk in shapes.speech_chunks(audio)), headers)

    async def transcription(self, call: Call, send) -> None:
        task = "transcription" if call.ids[0] == "transcriptions" else "translation"
        audio = self._file_part(call, "file")
        if not call.field("model"):
            raise Problem(400, "missing required field 'model'")
        text = shapes.transcript_text(task, audio.filename, len(audio.data), call.field("prompt"))
        response_format = call.field("response_format", "json")
        if response_format in ("text", "srt", "vtt"):
            if response_format == "srt":
                text = f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n"
            elif response_format == "vtt":
                text = f"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n{text}\n"
            await _send_text(send, text.encode())
            return
        await send_json(
            send, 200, shapes.transcription(task, text, response_format, call.field("language"))
        )

    async def moderations(self, call: Call, send) -> None:
        await send_json(send, 200, shapes.moderation(self._body(call)))

    async def rerank(self, call: Call, send) -> None:
        await send_json(send, 200, shapes.rerank(self._body(call)))

    async def model_list(self, call: Call, send) -> None:
        await send_json(send, 200, fmt.MODELS)

    async def model(self, call: Call, send) -> None:
        for model in fmt.MODELS["data"]:
            if model["id"] == call.ids[0]:
                await send_json(send, 200, model)
                return
        raise Problem(404, f"The model '{call.ids[0]}' does not exist", "model_not_found")

    # --- files ------------------------------------------------------------------------

    def _file(self, file_id: str) -> tuple[dict, bytes]:
        found = self.files.get(file_id)
        if found is None:
            raise Problem(404, f"No such File object: {file_id}")
        return found

    def store_file(self, filename: str, purpose: str, data: bytes) -> dict:
        file_id = shapes.new_id("file-")
        meta = jobs_fmt.file_object(file_id, filename, purpose, len(data))
        self.files[file_id] = (meta, data)
        return meta

    async def file_upload(self, call: Call, send) -> None:
        upload = self._file_part(call, "file")
        purpose = call.field("purpose")
        if not purpose:
            raise Problem(400, "missing required field 'purpose'")
        await send_json(send, 200, self.store_file(upload.filename, purpose, upload.data))

    async def file_list(self, call: Call, send) -> None:
        purpose = call.query.get("purpose")
        items = [meta for meta, _ in self.files.values() if purpose in (None, meta["purpose"])]
        await send_json(send, 200, _page(items, {"limit": "10000", **call.query}))

    async def file_get(self, call: Call, send) -> None:
        await send_json(send, 200, self._file(call.ids[0])[0])

    async def file_delete(self, call: Call, send) -> None:
        self._file(call.ids[0])
        del self.files[call.ids[0]]
        await send_json(send, 200, {"id": call.ids[0], "object": "file", "deleted": True})

    async def file_content(self, call: Call, send) -> None:
        _, data = self._file(call.ids[0])
        headers = [
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(len(data)).encode()),
        ]
        chunks = (data[i : i + FILE_CHUNK] for i in range(0, len(data), FILE_CHUNK))
        await paced(Streamer(send, call.knobs, done=b""), ((c, True) for c in chunks), headers)

    # --- batches ----------------------------------------------------------------------

    def _batch(self, batch_id: str) -> dict:
        batch = self.batches.get(batch_id)
        if batch is None:
            raise Problem(404, f"No batch found with id '{batch_id}'")
        return batch

    async def batch_create(self, call: Call, send) -> None:
        body = self._body(call)
        if body.get("input_file_id") not in self.files:
            raise Problem(400, f"Invalid input_file_id {body.get('input_file_id')!r}: no such file")
        if not body.get("endpoint"):
            raise Problem(400, "missing required field 'endpoint'")
        batch = jobs_fmt.batch_object(body)
        self.batches[batch["id"]] = batch
        await send_json(send, 200, batch)

    def _advance(self, batch: dict) -> None:
        """A batch is done by the time it is first looked at (a cancel lands first)."""
        at = shapes.now()
        if batch["status"] == "cancelling":
            batch.update(status="cancelled", cancelled_at=at)
        elif batch["status"] == "validating":
            _, data = self.files[batch["input_file_id"]]
            output, lines = jobs_fmt.batch_output(data)
            meta = self.store_file(f"{batch['id']}_output.jsonl", "batch_output", output)
            batch.update(
                status="completed",
                output_file_id=meta["id"],
                in_progress_at=at,
                finalizing_at=at,
                completed_at=at,
                request_counts={"total": lines, "completed": lines, "failed": 0},
            )

    async def batch_get(self, call: Call, send) -> None:
        batch = self._batch(call.ids[0])
        self._advance(batch)
        await send_json(send, 200, batch)

    async def batch_list(self, call: Call, send) -> None:
        await send_json(send, 200, _page(list(self.batches.values()), call.query))

    async def batch_cancel(self, call: Call, send) -> None:
        batch = self._batch(call.ids[0])
        if batch["status"] in _TERMINAL_BATCH:
            raise Problem(409, f"Cannot cancel a batch with status '{batch['status']}'.")
        batch.update(status="cancelling", cancelling_at=shapes.now())
        await send_json(send, 200, batch)

    # --- fine-tuning ------------------------------------------------------------------

    def _job(self, job_id: str) -> dict:
        job = self.jobs.get(job_id)
        if job is None:
            raise Problem(404, f"No fine-tuning job found with id '{job_id}'")
        return job

    def _log(self, job: dict, message: str) -> None:
        self.events_by_job[job["id"]].append(jobs_fmt.fine_tuning_event(job["id"], message))

    async def job_create(self, call: Call, send) -> None:
        body = self._body(call)
        if body.get("training_file") not in self.files:
            raise Problem(400, f"invalid training_file: {body.get('training_file')!r}")
        job = jobs_fmt.fine_tuning_job(body)
        self.jobs[job["id"]] = job
        self.events_by_job[job["id"]] = []
        self._log(job, f"Created fine-tuning job: {job['id']}")
        self._log(job, "Validating training file")
        await send_json(send, 200, job)

    async def job_list(self, call: Call, send) -> None:
        await send_json(send, 200, _page(list(self.jobs.values()), call.query))

    async def job_get(self, call: Call, send) -> None:
        job = self._job(call.ids[0])
        if job["status"] == "validating_files":
            job["status"] = "running"
            self._log(job, "Fine-tuning job started")
        await send_json(send, 200, job)

    async def job_events(self, call: Call, send) -> None:
        self._job(call.ids[0])
        await send_json(send, 200, _page(self.events_by_job[call.ids[0]], call.query))

    async def job_checkpoints(self, call: Call, send) -> None:
        job = self._job(call.ids[0])
        await send_json(send, 200, _page(jobs_fmt.fine_tuning_checkpoints(job), call.query, False))

    async def job_cancel(self, call: Call, send) -> None:
        job = self._job(call.ids[0])
        if job["status"] in ("succeeded", "failed", "cancelled"):
            raise Problem(409, f"Cannot cancel a job with status '{job['status']}'.")
        job.update(status="cancelled", finished_at=shapes.now())
        self._log(job, "Fine-tuning job cancelled")
        await send_json(send, 200, job)

    # --- Responses API ----------------------------------------------------------------

    def _response(self, response_id: str) -> tuple[dict, list[dict]]:
        found = self.responses.get(response_id)
        if found is None:
            raise Problem(404, f"Response with id '{response_id}' not found.")
        return found

    async def response_create(self, call: Call, send) -> None:
        body = self._body(call)
        reply = fmt.reply_for(responses_fmt.input_text(body.get("input")), call.knobs.reply)
        response = responses_fmt.response_object(body, reply)
        if body.get("store", True):
            self.responses[response["id"]] = (
                response,
                responses_fmt.input_items(body.get("input")),
            )
        if not body.get("stream"):
            await send_json(send, 200, response)
            return
        out = Streamer(send, call.knobs, responses_fmt.response_error_event, done=b"")
        await paced(out, responses_fmt.response_stream(response, call.knobs.chunks))

    async def response_get(self, call: Call, send) -> None:
        await send_json(send, 200, self._response(call.ids[0])[0])

    async def response_delete(self, call: Call, send) -> None:
        self._response(call.ids[0])
        del self.responses[call.ids[0]]
        await send_json(send, 200, {"id": call.ids[0], "object": "response", "deleted": True})

    async def response_items(self, call: Call, send) -> None:
        items = self._response(call.ids[0])[1]
        await send_json(send, 200, _page(items, call.query))


async def _send_text(send, data: bytes) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(data)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": data})
