"""Credits: the starting balance, prices per output, refusals the balance cannot pay, refunds."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from airflow_provider_creatify.sandbox.catalogue import MODELS
from airflow_provider_creatify.sandbox.credits import CreditLedger, credits_used_string
from airflow_provider_creatify.sandbox.settings import SandboxSettings

KLING_IMAGE = "https://example.com/a.jpg"


def test_remaining_credits_is_the_starting_balance(sandbox, api):
    assert SandboxSettings().credits == 10_000.0
    r = api.get(api.CREDITS)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"remaining_credits": 10_000.0}
    assert isinstance(r.json()["remaining_credits"], float)  # a double, "10000.0" on the wire
    assert b"10000.0" in r.content
    assert sandbox.remaining_credits == 10_000.0
    assert sandbox.count("GET", api.CREDITS) == 1


@pytest.mark.parametrize(
    ("model", "params", "price"),
    [
        ("nano-banana", {}, 0.5),
        ("nano-banana", {"num_images": 3}, 1.5),
        ("flux-pro/kontext/text-to-image", {}, 0.5),  # the reference's price (a live call was charged 1)
        ("veo3.1/fast", {"duration": "4s"}, 6),
        ("veo3.1/fast", {"duration": "6s"}, 9),
        ("veo3.1/fast", {}, 12),  # 8s by default
        ("veo3.1", {"duration": "4s"}, 16),
        ("kling-video/v1.6/pro/image-to-video", {"image_url": KLING_IMAGE}, 12),
        ("kling-video/v1.6/pro/image-to-video", {"image_url": KLING_IMAGE, "duration": "10"}, 24),
    ],
)
def test_a_create_costs_price_times_outputs(sandbox, api, model, params, price):
    assert MODELS[model].price(params) == price
    gen = api.create(model=model, **params)
    assert gen["credits_used"] == "0"
    assert api.credits() == 10_000 - price
    assert api.wait_final(gen["id"])["credits_used"] == credits_used_string(price)


def test_every_model_has_a_price():
    for name, model in MODELS.items():
        params = {"prompt": "x", "text": "x", "image_url": KLING_IMAGE, "image_urls": [KLING_IMAGE]}
        assert model.price(params) > 0, name


def test_insufficient_credits_creates_nothing(sandbox, api):
    sandbox.settings.credits = 3.5
    body = {"model_name": api.KLING, "input_params": {"prompt": "x", "image_url": KLING_IMAGE}}
    r = api.post(api.CREATE, json=body)
    assert r.status_code == 400
    assert r.json() == ["Insufficient credits: 3.5 remaining, this generation needs 12."]
    assert sandbox.generations == {}
    assert api.credits() == 3.5
    api.create(model="nano-banana", num_images=4)  # 2 credits: still paid
    r = api.post(
        api.CREATE, json={"model_name": "nano-banana", "input_params": {"prompt": "x", "num_images": 4}}
    )
    assert r.json() == ["Insufficient credits: 1.5 remaining, this generation needs 2."]
    assert len(sandbox.generations) == 1
    assert api.credits() == 1.5


def test_concurrent_creates_never_overdraw(sandbox, api):
    sandbox.settings.credits = 5  # ten nano-banana images at 0.5
    body = {"model_name": "nano-banana", "input_params": {"prompt": "x"}}
    barrier = threading.Barrier(30)

    def create(_: int) -> int:
        with requests.Session() as session:
            session.trust_env = False
            session.headers.update(api.session.headers)
            barrier.wait()
            return session.post(api.base_url + api.CREATE, json=body, timeout=10).status_code

    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(create, range(30)))
    assert sorted(codes) == [201] * 10 + [400] * 20
    assert len(sandbox.generations) == 10
    assert api.credits() == 0


def test_ledger_is_thread_safe():
    ledger = CreditLedger()
    wins: list[bool] = []
    lock = threading.Lock()

    def spend() -> None:
        for _ in range(500):
            charged, _ = ledger.try_charge(1.0, starting=1000.0, now_mono=time.monotonic())
            with lock:
                wins.append(charged)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1000
    assert ledger.remaining(starting=1000.0, now_mono=time.monotonic()) == 0


def test_failed_generations_are_refunded(sandbox, api):
    failing = api.create(model=api.KLING, prompt="[sandbox:fail]", image_url=KLING_IMAGE)
    assert api.credits() == 10_000 - 12  # charged while it runs
    assert api.wait_final(failing["id"])["credits_used"] == "0"
    assert api.credits() == 10_000
    sandbox.settings.generation_seconds = 30
    forced = api.create(model="veo3.1/fast")
    assert api.credits() == 10_000 - 12
    sandbox.force_status(forced["id"], "failed")
    assert api.credits() == 10_000


def test_reset_and_live_starting_balance(sandbox, api):
    api.create(model="veo3.1/fast", duration="4s")
    sandbox.settings.credits = 100  # the starting balance is read live
    assert api.credits() == 94
    sandbox.reset()
    assert sandbox.remaining_credits == 100


@pytest.mark.parametrize(
    ("value", "text"), [(12.0, "12"), (0.5, "0.5"), (1.5, "1.5"), (0, "0"), (0.1 + 0.2, "0.3"), (-0.0, "0")]
)
def test_credits_used_string(value, text):
    assert credits_used_string(value) == text
