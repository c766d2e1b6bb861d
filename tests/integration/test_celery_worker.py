"""A real Celery worker process on the real Redis broker, working on the test database: the round trip
the production deployment relies on (web → Redis → worker → database → web)."""
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date

import pytest
from celery import Celery
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import permissions as P
from models.customers import Customer
from models.system import DictType, ExportJob
from tests.conftest import ROLE_USERS, unique
from tests.integration.datalayer import make_ric, store  # noqa: F401

REDIS_URL = os.environ.get("REDIS_WORKER_TEST_URL", "redis://127.0.0.1:6379/14")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STARTUP_TIMEOUT = 40  # seconds for the worker to boot and answer the first task


@pytest.fixture(scope="module")
def worker(app, tmp_path_factory):
    """Start `celery -A app.worker worker` on a queue of its own; stop it whatever happens."""
    import redis

    queue = f"test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # Redis must be there: the test is about the real broker
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],  # the same SQLite file or PostgreSQL database
        "INSTANCE_DIR": os.path.dirname(app.config["EXPORT_DIR"]),  # exports land where the web app reads them
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TEST_DATABASE_URL", None)
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "app.worker", "worker", "--pool=solo", "--concurrency=1",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
         "-n", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    celery_client = Celery("test-client", broker=REDIS_URL, backend=REDIS_URL)
    celery_client.conf.update(task_default_queue=queue, broker_connection_retry_on_startup=True,
                              result_expires=600)
    handle = {"process": process, "queue": queue, "client": celery_client, "log": log_path, "task_ids": []}
    try:
        yield handle
    finally:
        _stop(process)
        log.close()
        keys = [queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
        client.delete(*keys, *(f"celery-task-meta-{t}" for t in handle["task_ids"]))
        celery_client.close()


def _stop(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)  # warm shutdown: the solo pool finishes its task
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _call(worker, name, *args, timeout=STARTUP_TIMEOUT):
    result = worker["client"].send_task(name, args=list(args), queue=worker["queue"])
    worker["task_ids"].append(result.id)
    try:
        return result.get(timeout=timeout)
    except Exception:
        sys.stderr.write(worker["log"].read_text(errors="replace")[-4000:])  # shown with the failure
        raise


def test_ping_through_redis_sees_the_test_database(worker, store):
    started = time.monotonic()
    marker = DictType(code=unique("ping"), name="worker sees me")
    store.add(marker)
    expected = store.scalar(select(func.count(DictType.id)))

    answer = _call(worker, "app.tasks.ping", 21)

    assert answer == {"value": 42, "dict_types": expected}
    assert worker["process"].poll() is None, "the worker died"
    assert time.monotonic() - started < STARTUP_TIMEOUT


def test_export_task_runs_in_the_worker_and_the_web_serves_the_file(app, worker, store, admin_web):
    tag = unique("w")
    customers = [Customer(code=unique("W"), kind="individual", name=f"队列{tag}-{i}", id_type="RIC",
                          id_number=make_ric(date(1975, 1, 1 + i)), direct="direct", phone=f"1370000000{i}")
                 for i in range(5)]
    store.add(*customers)
    with app.app_context():
        admin = app.appbuilder.sm.find_user(username=ROLE_USERS[P.ADMIN])
    job = ExportJob(user_id=admin.id, view_name="CustomerView", title="客户", total=5, status="pending")
    (job_id,) = store.add(job)
    args = {"_flt_2_name": [tag], "_oc_CustomerView": ["phone"], "_od_CustomerView": ["desc"]}

    assert _call(worker, "app.tasks.export_list", job_id, args, timeout=30) == job_id

    finished = store.get(ExportJob, job_id)
    assert finished.status == "done" and finished.done == 5 and finished.filename and finished.error is None
    status = admin_web.get(f"/exportjobview/status/{job_id}").get_json()
    assert status["status"] == "done" and status["url"]
    download = admin_web.get(status["url"])
    assert download.status_code == 200
    rows = list(load_workbook(io.BytesIO(download.data)).active.iter_rows(values_only=True))
    expected = [c.code for c in sorted(customers, key=lambda c: c.phone, reverse=True)]
    assert [r[0] for r in rows[1:]] == expected
