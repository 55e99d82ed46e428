"""Small shared pieces of the test suite: each constant and helper is defined here once.

Nothing from Airflow (or from the package, which imports Airflow) is imported at module level: the root
conftest.py imports this module before it points AIRFLOW_HOME at its throw-away folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify import endpoints  # stdlib only: imports no Airflow

if TYPE_CHECKING:
    from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "example_dags"

KLING = "kling-video/v1.6/pro/image-to-video"
FLUX = "flux-pro/kontext/text-to-image"
KLING_PARAMS = {
    "prompt": "A man working in the snow mountains with small image logo.",
    "duration": "5",
    "cfg_scale": 0.5,
    "image_url": "https://example.com/image.jpg",
    "aspect_ratio": "16:9",
    "negative_prompt": "blur, distort, and low quality",
}
# The API's paths (endpoints.py) under the names the tests read: the create (POST) and the reads of many
# generations (GET ?ids=...; the request log names the path without its query) are one path; a
# generation's status path as the sandbox's request log and fault rules name it.
POST_PATH = LIST_PATH = endpoints.GENERATIONS_PATH
STATUS_PATH = endpoints.GENERATION_PATH
SCHEMAS_PATH = endpoints.SCHEMAS_PATH
CREDITS_PATH = endpoints.CREDITS_PATH


class RecordingTI:
    """Stands in for the task instance of a context: records what the task pushes to XCom."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **kwargs: Any) -> Any:
        """What other task instances pushed: set ``others`` (key -> values) to say; none by default."""
        return list(getattr(self, "others", {}).get(key, []))


class FakeStateStore:
    """Stands in for context["task_state_store"] (Airflow 3.3+): get and set by key."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def make_context() -> dict[str, Any]:
    return {"ti": RecordingTI()}


def airflow_has_task_state_store() -> bool:
    """Whether this Airflow has ``task_state_store`` (3.3+): a retried task can resume its generation."""
    from airflow.sdk.execution_time import context

    return hasattr(context, "TaskStateStoreAccessor")


async def only_event(trigger: CreatifyGenerationTrigger) -> dict:
    """The payload of the one event a trigger yields."""
    (event,) = [e.payload async for e in trigger.run()]
    return event


class LoopbackServer:
    """A tiny HTTP server on 127.0.0.1 for hostile answers the sandbox does not give (redirects, HTML).

    ``answer(method, path, headers)`` returns ``(status, headers, body)``; every request is recorded in
    :attr:`seen` as ``(method, path, headers)``. Use as a context manager; :attr:`url` is its origin.
    """

    def __init__(self, answer: Any) -> None:
        import http.server
        import threading

        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                headers = dict(self.headers.items())
                length = int(headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                server.seen.append((self.command, self.path, headers))
                status, extra, body = answer(self.command, self.path, headers)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **extra}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
