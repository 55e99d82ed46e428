"""Small shared pieces of the test suite."""

from __future__ import annotations

from typing import Any

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
POST_PATH = "/api/asset_generator/"


class RecordingTI:
    """Stands in for the task instance of a context: records what the task pushes to XCom."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def make_context() -> dict[str, Any]:
    return {"ti": RecordingTI()}


def airflow_has_task_state_store() -> bool:
    """Whether this Airflow has ``task_state_store`` (3.3+): a retried task can resume its generation."""
    from airflow.sdk.execution_time import context

    return hasattr(context, "TaskStateStoreAccessor")
