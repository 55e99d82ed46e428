"""Webhook notices POSTed to a receiver on loopback."""

from __future__ import annotations

import socket
import time


def test_webhook_on_done(sandbox, api, receiver):
    gen = api.create(webhook_url=receiver.url)
    assert gen["webhook_url"] == receiver.url
    api.wait_until(lambda: receiver.received)
    (notice,) = receiver.received
    assert notice["id"] == gen["id"]
    assert notice["status"] == "done"
    assert notice["failed_reason"] == ""
    assert len(notice["assets"]) == 1
    api.wait_until(lambda: sandbox.webhook_deliveries)
    ((url, code, payload),) = sandbox.webhook_deliveries
    assert (url, code, payload["id"]) == (receiver.url, 200, gen["id"])


def test_webhook_on_failure_and_repeat(sandbox, api, receiver):
    sandbox.settings.webhook_repeat = 2
    gen = api.create(prompt="[sandbox:fail]", webhook_url=receiver.url)
    api.wait_until(lambda: len(sandbox.webhook_deliveries) == 2)
    assert [n["id"] for n in receiver.received] == [gen["id"], gen["id"]]
    assert {n["status"] for n in receiver.received} == {"failed"}
    assert receiver.received[0]["failed_reason"]


def test_no_webhook_when_repeat_is_zero(sandbox, api, receiver):
    sandbox.settings.webhook_repeat = 0  # a lost notice
    gen = api.create(webhook_url=receiver.url)
    assert api.wait_final(gen["id"])["status"] == "done"
    time.sleep(0.1)
    assert receiver.received == []
    assert sandbox.webhook_deliveries == []


def test_webhook_delivery_failure_is_recorded(sandbox, api):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{s.getsockname()[1]}/hook"  # nothing listens there
    gen = api.create(webhook_url=dead_url)
    (url, code, payload) = api.wait_until(lambda: sandbox.webhook_deliveries)[0]
    assert (url, code, payload["id"]) == (dead_url, None, gen["id"])
    assert api.status(gen["id"])["status"] == "done"  # the server carries on


def test_webhook_receiver_error_status_is_recorded(sandbox, api, receiver):
    receiver.status = 500
    api.create(webhook_url=receiver.url)
    assert api.wait_until(lambda: sandbox.webhook_deliveries)[0][1] == 500


def test_force_status_fires_webhook(sandbox, api, receiver):
    sandbox.settings.generation_seconds = 30
    gen = api.create(webhook_url=receiver.url)
    sandbox.force_status(gen["id"], "failed", failed_reason="forced")
    api.wait_until(lambda: receiver.received)
    assert receiver.received[0]["status"] == "failed"
    assert receiver.received[0]["failed_reason"] == "forced"
    stuck = api.create(webhook_url=receiver.url)
    sandbox.force_status(stuck["id"], "in_queue")  # unknown statuses never notify
    time.sleep(0.1)
    assert len(receiver.received) == 1
