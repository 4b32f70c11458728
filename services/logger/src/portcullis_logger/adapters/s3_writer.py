"""The logger's hot write: S3 PutObject on the event loop over aiohttp, signed with the
minio client's own SigV4 signer.

Measured on the 2-core reference machine, minio's blocking ``put_object`` in a thread
pool cost ~0.6 ms of CPU per log (urllib3 and http.client in Python, the GIL handoff
to and from the pool), about as much as SeaweedFS spends storing it. aiohttp (C HTTP
parser, keep-alive pool) on the loop costs a fraction of that and needs no threads.
Everything else (bucket creation, reads, listings) stays on the minio client.

Requests are path-style (``<endpoint>/<bucket>/<key>``), which every S3-compatible
store accepts. No retries here: JetStream redelivery is the retry that survives a crash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from urllib.parse import urlsplit

import aiohttp
from minio.credentials import Credentials
from minio.helpers import quote
from minio.signer import sign_v4_s3

_UNSIGNED = "UNSIGNED-PAYLOAD"
# The S3 error body is XML; its <Code> (e.g. SignatureDoesNotMatch) is all we report.
_ERROR_CODE = re.compile(rb"<Code>([A-Za-z]{1,64})</Code>")


class S3WriteFailed(Exception):
    """The store answered a write with an error status (or did not answer)."""


class S3Writer:
    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        secure: bool,
        credentials: Credentials | None,
        concurrency: int,
        connect_timeout_s: float,
        read_timeout_s: float,
    ) -> None:
        self._base = f"{'https' if secure else 'http'}://{endpoint}/{quote(bucket)}/"
        self._host = endpoint
        self._secure = secure
        self._credentials = credentials
        self._concurrency = concurrency
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self.region = "us-east-1"
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop (aiohttp binds to it).
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._concurrency, ttl_dns_cache=300),
            timeout=self._timeout,
            skip_auto_headers=("User-Agent",),
        )
        return self._session

    def signed_headers(self, url: str, body: bytes, now: dt.datetime) -> dict[str, str]:
        """SigV4 headers of a PUT of ``body`` to ``url`` (none for anonymous access)."""
        headers = {
            "Host": self._host,
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
        }
        if self._credentials is None:
            return headers
        # Over TLS the payload is protected already; over plain HTTP it is signed.
        sha256 = _UNSIGNED if self._secure else hashlib.sha256(body).hexdigest()
        headers["x-amz-date"] = now.strftime("%Y%m%dT%H%M%SZ")
        headers["x-amz-content-sha256"] = sha256
        if self._credentials.session_token:
            headers["X-Amz-Security-Token"] = self._credentials.session_token
        return sign_v4_s3(
            method="PUT",
            url=urlsplit(url),
            region=self.region,
            headers=headers,
            credentials=self._credentials,
            content_sha256=sha256,
            date=now,
        )

    async def put(self, key: str, body: bytes) -> None:
        session = self._session or self._open()
        url = self._base + quote(key)
        headers = self.signed_headers(url, body, dt.datetime.now(dt.UTC))
        try:
            async with session.put(url, data=body, headers=headers) as response:
                if response.status == 200:
                    await response.read()  # keep the connection reusable
                    return
                found = _ERROR_CODE.search(await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise S3WriteFailed(f"S3 unreachable: {type(exc).__name__}") from exc
        code = found.group(1).decode(errors="replace") if found else "no error code"
        raise S3WriteFailed(f"S3 refused the write: HTTP {response.status} {code}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
