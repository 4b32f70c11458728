"""OpenAI's file, batch and fine-tuning job objects, and a batch's output file: pure,
deterministic, shaped as the API reference documents them."""

from __future__ import annotations

import msgspec

from mock_provider import openai_format as fmt
from mock_provider import responses_format
from mock_provider.openai_extra_format import new_id, now


def file_object(file_id: str, filename: str, purpose: str, size: int) -> dict:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": now(),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


def batch_object(body: dict) -> dict:
    return {
        "id": new_id("batch_"),
        "object": "batch",
        "endpoint": body.get("endpoint"),
        "errors": None,
        "input_file_id": body.get("input_file_id"),
        "completion_window": body.get("completion_window", "24h"),
        "status": "validating",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": now(),
        "in_progress_at": None,
        "expires_at": now() + 86400,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": body.get("metadata"),
    }


def _batch_answer(url: str, body: dict) -> dict:
    if url.endswith("/embeddings"):
        return fmt.embeddings(body)
    if url.endswith("/responses"):
        reply = fmt.reply_for(responses_format.input_text(body.get("input")), None)
        return responses_format.response_object(body, reply)
    return fmt.chat_completion(body, fmt.reply_for(fmt.last_user_text(body.get("messages")), None))


def batch_output(input_jsonl: bytes) -> tuple[bytes, int]:
    """The output file of a batch (one JSON line per input line) and its line count."""
    lines = []
    for raw in input_jsonl.splitlines():
        if not raw.strip():
            continue
        request = msgspec.json.decode(raw)
        answer = _batch_answer(str(request.get("url", "")), request.get("body") or {})
        lines.append(
            fmt.encode(
                {
                    "id": new_id("batch_req_"),
                    "custom_id": request.get("custom_id"),
                    "response": {
                        "status_code": 200,
                        "request_id": new_id("req_"),
                        "body": answer,
                    },
                    "error": None,
                }
            )
        )
    return b"\n".join(lines) + b"\n", len(lines)


def fine_tuning_job(body: dict) -> dict:
    hyper = body.get("hyperparameters") or {}
    return {
        "id": new_id("ftjob-"),
        "object": "fine_tuning.job",
        "model": body.get("model"),
        "created_at": now(),
        "finished_at": None,
        "fine_tuned_model": None,
        "organization_id": "org-mock",
        "result_files": [],
        "status": "validating_files",
        "validation_file": body.get("validation_file"),
        "training_file": body.get("training_file"),
        "hyperparameters": {
            "n_epochs": hyper.get("n_epochs", "auto"),
            "batch_size": hyper.get("batch_size", "auto"),
            "learning_rate_multiplier": hyper.get("learning_rate_multiplier", "auto"),
        },
        "trained_tokens": None,
        "error": None,
        "seed": body.get("seed", 42),
        "estimated_finish": None,
        "integrations": [],
        "metadata": body.get("metadata"),
        "method": body.get("method") or {"type": "supervised"},
        "user_provided_suffix": body.get("suffix"),
    }


def fine_tuning_event(job_id: str, message: str, level: str = "info") -> dict:
    return {
        "id": new_id("ftevent-"),
        "object": "fine_tuning.job.event",
        "created_at": now(),
        "level": level,
        "message": message,
        "data": {"job_id": job_id},
        "type": "message",
    }


def fine_tuning_checkpoints(job: dict) -> list[dict]:
    return [
        {
            "id": f"ftckpt_{job['id']}_{step}",
            "object": "fine_tuning.job.checkpoint",
            "created_at": job["created_at"],
            "fine_tuned_model_checkpoint": f"ft:{job['model']}:mock::ckpt-step-{step}",
            "fine_tuning_job_id": job["id"],
            "metrics": {
                "step": step,
                "train_loss": round(1 / step, 4),
                "train_mean_token_accuracy": 0.9,
            },
            "step_number": step,
        }
        for step in (10, 20)
    ]
