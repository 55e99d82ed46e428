"""Webhook notices POSTed to a receiver on loopback: ``generating`` once, then the final one."""

from __future__ import annotations

import socket
import time

NOTICE_KEYS = {"id", "status", "failed_reason", "assets"}


def test_webhook_notices_generating_then_done(sandbox, api, receiver):
    gen = api.create(webhook_url=receiver.url)
    assert gen["webhook_url"] == receiver.url
    api.wait_until(lambda: len(sandbox.webhook_deliveries) == 2)
    progress, final = receiver.received
    assert all(set(notice) == NOTICE_KEYS for notice in receiver.received)  # only the documented fields
    assert progress == {"id": gen["id"], "status": "generating", "failed_reason": "", "assets": []}
    assert (final["id"], final["status"], final["failed_reason"]) == (gen["id"], "done", "")
    assert len(final["assets"]) == 1
    assert final["assets"] == api.status(gen["id"])["assets"]
    assert [(url, code) for url, code, _ in sandbox.webhook_deliveries] == [(receiver.url, 200)] * 2
    assert [payload for _, _, payload in sandbox.webhook_deliveries] == receiver.received


def test_webhook_on_failure_and_repeat(sandbox, api, receiver):
    sandbox.settings.webhook_repeat = 2  # the final notice twice
    gen = api.create(prompt="[sandbox:fail]", webhook_url=receiver.url)
    api.wait_until(lambda: len(sandbox.webhook_deliveries) == 3)
    assert [n["id"] for n in receiver.received] == [gen["id"]] * 3
    assert [n["status"] for n in receiver.received] == ["generating", "failed", "failed"]
    assert receiver.received[1] == receiver.received[2]
    assert receiver.received[1]["failed_reason"]
    time.sleep(0.1)
    assert len(receiver.received) == 3


def test_final_notice_lost_when_repeat_is_zero(sandbox, api, receiver):
    sandbox.settings.webhook_repeat = 0  # a lost final notice
    gen = api.create(webhook_url=receiver.url)
    assert api.wait_final(gen["id"])["status"] == "done"
    time.sleep(0.1)
    assert [n["status"] for n in receiver.received] == ["generating"]
    assert len(sandbox.webhook_deliveries) == 1


def test_webhook_delivery_failure_is_recorded(sandbox, api):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{s.getsockname()[1]}/hook"  # nothing listens there
    gen = api.create(webhook_url=dead_url)
    deliveries = api.wait_until(lambda: len(sandbox.webhook_deliveries) == 2 and sandbox.webhook_deliveries)
    assert [(url, code, payload["id"]) for url, code, payload in deliveries] == [
        (dead_url, None, gen["id"])
    ] * 2
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
    (notice,) = receiver.received  # forced before it was ever generating: only the final notice
    assert (notice["status"], notice["failed_reason"]) == ("failed", "forced")
    stuck = api.create(webhook_url=receiver.url)
    sandbox.force_status(stuck["id"], "in_queue")  # unknown statuses never notify
    time.sleep(0.1)
    assert len(receiver.received) == 1


def test_no_notice_without_webhook_url(sandbox, api):
    api.wait_final(api.create()["id"])
    time.sleep(0.05)
    assert sandbox.webhook_deliveries == []


def test_reset_cancels_pending_notices(sandbox, api, receiver):
    sandbox.settings.generation_seconds = 0.5
    api.create(webhook_url=receiver.url)
    sandbox.reset()
    time.sleep(0.7)
    assert receiver.received == []
    assert sandbox.webhook_deliveries == []
