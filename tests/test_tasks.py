"""The comparison task through django-q's brokers: the ORM broker of the embedded default and Redis."""

import importlib
import os

import pytest
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

from comparisons.models import Comparison
from comparisons.requests import create_comparison, resolve_request
from comparisons.tasks import queue_comparison, run_comparison
from tests.conftest import demo_reference_runs

pytestmark = pytest.mark.django_db(transaction=True)


def _new_comparison(data_run=355201):
    return create_comparison(resolve_request("CSC", data_run, demo_reference_runs()))


def _run_dequeued(broker):
    """Do what a qcluster worker does with one queued task: unpack it and call its function."""
    queued = broker.dequeue()
    assert queued, "nothing was queued"
    (task_id, payload), = queued
    task = SignedPackage.loads(payload)
    module, name = task["func"].rsplit(".", 1)
    importlib.import_module(module).__dict__[name](*task["args"], **task["kwargs"])
    if task_id is not None:
        broker.acknowledge(task_id)
    return task


def test_orm_broker_runs_comparison(demo_site):
    comparison = _new_comparison()
    broker = get_broker()
    assert type(broker).__name__ == "ORM"
    queue_comparison(comparison)
    task = _run_dequeued(broker)
    assert task["name"] == f"comparison-{comparison.pk}"
    comparison.refresh_from_db()
    assert comparison.status == Comparison.DONE
    assert comparison.progress_done == comparison.progress_total > 0


def test_redis_broker_runs_comparison(demo_site, monkeypatch):
    url = os.environ.get("ADQM_TEST_BROKER_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("ADQM_TEST_BROKER_URL is not set; .ci/run sets it to the local Redis")
        pytest.skip("set ADQM_TEST_BROKER_URL=redis://127.0.0.1:6379/15 to test the Redis broker")
    from django_q.brokers.redis_broker import Redis

    monkeypatch.setattr(Conf, "REDIS", url)
    broker = Redis(list_key="autodqm-test")
    broker.purge_queue()
    comparison = _new_comparison()
    queue_comparison(comparison, broker=broker)
    assert broker.queue_size() == 1
    _run_dequeued(broker)
    comparison.refresh_from_db()
    assert comparison.status == Comparison.DONE
    broker.delete_queue()


def test_second_run_is_harmless(demo_site):
    comparison = _new_comparison(355200)
    assert run_comparison(comparison.pk) == Comparison.DONE
    stored = list(comparison.results.values_list("pk", flat=True))
    assert run_comparison(comparison.pk) == Comparison.DONE
    assert list(comparison.results.values_list("pk", flat=True)) == stored


def test_failure_recorded_with_reason(demo_site):
    comparison = _new_comparison()
    for run_file in comparison.data_run.files.all():
        os.remove(run_file.path)
    assert run_comparison(comparison.pk) == Comparison.FAILED
    comparison.refresh_from_db()
    assert "data run 355201" in comparison.error
    assert "does not exist" in comparison.error or "not found" in comparison.error
