"""DAGs with Creatify tasks load where listener plugins are installed (OpenLineage's, for one).

Airflow's DAG bag refuses every task whose ``end_from_trigger`` attribute is true once any listener is
registered ("Listeners are not supported with end_from_trigger=True"). The operators keep the argument
under another name and, with listeners, resume a success in a worker (tests/unit/operators).
"""

from __future__ import annotations

import types

import pytest

DAG_WITH_THE_ATTRIBUTE = """
import pendulum
from airflow.sdk import BaseOperator, dag


class EndsInTriggerer(BaseOperator):
    end_from_trigger = True

    def execute(self, context):
        return None


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
def a_third_party_end_from_trigger():
    EndsInTriggerer(task_id="t")


a_third_party_end_from_trigger()
"""


@pytest.fixture
def a_listener(airflow_db):
    """A listener plugin registered with the DAG bag's listener manager, removed afterwards."""
    from airflow.listeners.listener import get_listener_manager

    listener = types.ModuleType("a_listener")
    get_listener_manager().add_listener(listener)
    yield
    get_listener_manager().pm.unregister(listener)


def dag_bag(path):
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef,unused-ignore]  # same class, older home

    return DagBag(dag_folder=str(path))  # examples are off in this session (conftest)


def test_creatify_dags_load_with_a_listener(dags_folder, a_listener):
    bag = dag_bag(dags_folder / "example_creatify_text_to_image.py")
    assert not bag.import_errors, bag.import_errors
    assert "example_creatify_text_to_image" in bag.dags


def test_airflow_refuses_a_true_end_from_trigger_attribute_with_a_listener(tmp_path, a_listener):
    # the check the operators stay clear of is live in this Airflow
    (tmp_path / "third_party.py").write_text(DAG_WITH_THE_ATTRIBUTE)
    bag = dag_bag(tmp_path / "third_party.py")
    assert "end_from_trigger" in str(bag.import_errors), bag.import_errors
