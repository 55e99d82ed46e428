"""Helpers to run DAGs that use this provider with ``dag.test()``, e.g. against the sandbox in your CI.

.. code-block:: python

    dag = load_dag_file("dags/my_dag.py", "my_dag")
    set_deferrable(dag, True)
    dagrun = dag.test()
    assert dagrun_xcoms(dagrun)[("generate", -1, "return_value")]

The DAG file must sit in the configured dags folder (``dag.test()`` serializes it from there).
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from airflow_provider_creatify.protocols import DagRunKey

__all__ = ["dagrun_xcoms", "load_dag_file", "set_deferrable"]


def load_dag_file(path: str | Path, dag_id: str) -> DAG:
    """Import a DAG file under a private module name and return its DAG ``dag_id``."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"creatify_dag_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot import DAG file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow.sdk import DAG

    for value in vars(module).values():
        if isinstance(value, DAG) and value.dag_id == dag_id:
            return value
    factory = getattr(module, dag_id, None)  # a @dag function called at module level
    if callable(factory):
        return factory()
    raise LookupError(f"No DAG {dag_id!r} in {path}")


def set_deferrable(dag: DAG, deferrable: bool) -> None:
    """Make every Creatify task of ``dag`` that can wait deferred (the operators, the sensor) deferrable or
    not, mapped tasks included."""
    for task in dag.tasks:
        cls = getattr(task, "operator_class", type(task))  # a mapped task's operator class
        if not isinstance(cls, type) or not cls.__module__.startswith(f"{__package__}."):
            continue
        if "deferrable" in inspect.signature(cls).parameters:
            if hasattr(task, "partial_kwargs"):
                task.partial_kwargs["deferrable"] = deferrable
            else:
                task.deferrable = deferrable


def dagrun_xcoms(dagrun: DagRunKey) -> dict[tuple[str, int, str], Any]:
    """Every XCom of a finished DAG run: ``{(task_id, map_index, key): value}``."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(XComModel).where(XComModel.dag_id == dagrun.dag_id, XComModel.run_id == dagrun.run_id)
        ).all()
        # Airflow 3.1 annotates XComModel's fields as Column[...], not as the values a row holds
        return {
            (r.task_id, r.map_index, r.key): XComModel.deserialize_value(r)  # type: ignore[misc,unused-ignore]
            for r in rows
        }
