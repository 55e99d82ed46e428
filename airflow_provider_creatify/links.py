"""The task's "Creatify asset" button (an operator extra link): the first asset its generation made.

Its own module, imported by the operators (through the mixin) and by the trigger, which pushes the
link's XCom when a task ends in the triggerer: nothing here imports either of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey
    from airflow.sdk import BaseOperator


__all__ = ["CreatifyAssetLink"]


class CreatifyAssetLink(BaseOperatorLink):
    """A button on the task that opens the first asset the generation produced."""

    name = "Creatify asset"

    @staticmethod
    def url(asset_urls: list[str] | None) -> str:
        """The link for these asset URLs: the first one."""
        return asset_urls[0] if asset_urls else ""

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        # Airflow 3 calls this in the worker at the end of each run, deferrals included, and stores the
        # result for the UI: the generation the task holds says it, without asking for an XCom that a
        # deferring task has not pushed yet (the API client logs an error for each such miss).
        generation = getattr(operator, "generation", None)
        if generation is not None:
            return self.url(generation.asset_urls)
        return self.url(XCom.get_value(key="asset_urls", ti_key=ti_key))
