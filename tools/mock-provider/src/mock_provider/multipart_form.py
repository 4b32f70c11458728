"""multipart/form-data request bodies (OpenAI's uploads: files, audio, image edits),
parsed with the standard library's email parser so the mock needs no dependency; it
keeps binary parts byte for byte."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
from dataclasses import dataclass, field

_parser = email.parser.BytesParser(policy=email.policy.HTTP)


@dataclass(frozen=True, slots=True)
class FilePart:
    filename: str
    content_type: str
    data: bytes

    def summary(self) -> dict:
        """What the recorder keeps of an upload: never the bytes themselves."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "bytes": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
        }


@dataclass(slots=True)
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, FilePart] = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "fields": self.fields,
            "files": {name: part.summary() for name, part in self.files.items()},
        }


class FormError(ValueError):
    """Not a multipart body the mock can read; answered 400 like the real API."""


def parse_form(content_type: str, body: bytes) -> Form:
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        raise FormError("expected a multipart/form-data body with a boundary")
    message = _parser.parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise FormError("the multipart body could not be parsed")
    form = Form()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            form.fields[str(name)] = payload.decode("utf-8", "replace")
        else:
            form.files[str(name)] = FilePart(filename, part.get_content_type(), payload)
    return form
