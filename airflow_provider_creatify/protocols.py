"""The parts of Airflow's objects (and of loggers) this package uses, as Protocols.

Each Protocol declares only what the code reads or calls. Airflow 3.1 and 3.3 type these objects
differently, or not at all (3.1 has no ``task_state_store``). Both releases' real objects satisfy these
Protocols, and so do the fakes in the tests. Parameters are keyword-only where the real signatures
differ in position.

Nothing here is imported at run time: the modules that use these names import them under
``TYPE_CHECKING``.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import datetime


class Log(Protocol):
    """A logger: ``logging.Logger``, or an Airflow task's or trigger's logger (structlog)."""

    def debug(self, msg: str, /, *args: object) -> object: ...

    def info(self, msg: str, /, *args: object) -> object: ...

    def warning(self, msg: str, /, *args: object, exc_info: bool = ...) -> object: ...

    def error(self, msg: str, /, *args: object) -> object: ...

    def exception(self, msg: str, /, *args: object) -> object: ...


class StateStore(Protocol):
    """``context["task_state_store"]`` (Airflow 3.3+): JSON values by key, kept across a task's tries."""

    def get(self, key: str, /) -> object: ...

    def set(self, key: str, value: Any, /) -> None: ...  # value: JSON


class TaskInstance(Protocol):
    """The running task instance, as a try's submission reads it (``context["ti"]``)."""

    @property
    def try_number(self) -> int: ...

    def xcom_pull(self, *, task_ids: list[str], key: str) -> Any: ...  # returns XCom values (JSON)


class DagRun(Protocol):
    """The DAG run, as the search for an earlier try's lost create reads it (``context["dag_run"]``)."""

    @property
    def start_date(self) -> datetime | None: ...


class DagRunKey(Protocol):
    """A DAG run as its XComs name it: what ``dag.test()`` returns."""

    @property
    def dag_id(self) -> str: ...

    @property
    def run_id(self) -> str: ...


class XComTarget(Protocol):
    """A task instance as named by its XComs: the trigger's ``task_instance``."""

    @property
    def dag_id(self) -> str: ...

    @property
    def task_id(self) -> str: ...

    @property
    def run_id(self) -> str: ...

    @property
    def map_index(self) -> int: ...
