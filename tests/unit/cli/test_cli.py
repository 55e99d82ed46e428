"""Model discovery: ``CreatifyHook.describe_models`` and the ``creatify-models`` console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_creatify.cli import main
from airflow_provider_creatify.generation import format_credits
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import SandboxSettings
from airflow_provider_creatify.sandbox.catalogue import MODELS
from tests.helpers import FLUX, KLING, SCHEMAS_PATH

IMAGE_RATIOS = ["21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21"]
CONN_VAR = "AIRFLOW_CONN_CREATIFY_DEFAULT"


def by_name(models):
    return {m["model_name"]: m for m in models}


def fields_of(model):
    return {f["name"]: f for f in model["fields"]}


def test_describe_models_lists_the_sandbox_catalogue(creatify_conn):
    models = CreatifyHook().describe_models()
    names = [m["model_name"] for m in models]
    assert names == sorted(MODELS)
    nano = by_name(models)["nano-banana"]
    assert nano["generation_type"] == "text_to_image"
    assert nano["fields"][0] == {
        "name": "prompt",
        "required": True,
        "type": "string",
        "enum": None,
        "default": None,
        "description": "Text prompt describing the output.",
    }
    assert [f["name"] for f in nano["fields"]] == ["prompt", "num_images", "aspect_ratio", "output_format"]
    fields = fields_of(nano)
    assert fields["aspect_ratio"] == {
        "name": "aspect_ratio",
        "required": False,
        "type": "string",
        "enum": IMAGE_RATIOS,
        "default": "1:1",
        "description": None,
    }
    assert fields["num_images"]["type"] == "integer" and fields["num_images"]["default"] == 1
    edit = fields_of(by_name(models)["nano-banana/edit"])  # editing an image is a model of its own
    assert edit["image_urls"]["required"] and edit["image_urls"]["type"] == "array"


def test_describe_models_puts_required_fields_first(creatify_conn):
    models = by_name(CreatifyHook().describe_models())
    kling = models[KLING]
    assert kling["generation_type"] == "image_to_video"
    assert [(f["name"], f["required"]) for f in kling["fields"]] == [
        ("prompt", True),
        ("image_url", True),
        ("duration", False),
        ("cfg_scale", False),
        ("aspect_ratio", False),
        ("negative_prompt", False),
    ]
    kling_fields = fields_of(kling)
    assert kling_fields["duration"]["enum"] == ["5", "10"] and kling_fields["duration"]["default"] == "5"
    assert kling_fields["cfg_scale"]["type"] == "number" and kling_fields["cfg_scale"]["default"] == 0.5
    veo = fields_of(models["veo3.1/fast"])
    assert veo["generate_audio"] == {
        "name": "generate_audio",
        "required": False,
        "type": "boolean",
        "enum": None,
        "default": True,
        "description": None,
    }
    assert fields_of(models[FLUX])["prompt"]["required"] is True


def test_describe_models_filters_by_name(creatify_conn):
    models = CreatifyHook().describe_models(["veo3.1/fast", "nano-banana", "no-such-model"])
    assert [m["model_name"] for m in models] == ["nano-banana", "veo3.1/fast"]
    assert creatify_conn.count("GET", SCHEMAS_PATH) == 1


def test_main_prints_an_aligned_table(creatify_conn, capsys):
    assert main(["veo3.1/fast", "nano-banana"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    nano_block, veo_block = out.rstrip("\n").split("\n\n")
    nano = nano_block.splitlines()
    assert nano[0] == "nano-banana (text_to_image)"
    header, rows = nano[1], {line.split()[0]: line for line in nano[2:]}
    assert header.split() == ["FIELD", "REQUIRED", "TYPE", "DEFAULT", "ENUM"]
    assert list(rows) == ["prompt", "num_images", "aspect_ratio", "output_format"]
    assert rows["prompt"].split() == ["prompt", "yes", "string", "-", "-"]
    ratios = ", ".join(IMAGE_RATIOS)
    assert rows["aspect_ratio"].split(None, 4) == ["aspect_ratio", "no", "string", "1:1", ratios]
    for column in ("REQUIRED", "TYPE", "DEFAULT", "ENUM"):  # every row's cell starts under its header
        start = header.index(column)
        assert all(row[start - 1] == " " and row[start] != " " for row in rows.values())
    veo = veo_block.splitlines()
    assert veo[0] == "veo3.1/fast (text_to_video)"
    veo_rows = {line.split()[0]: line.split() for line in veo[2:]}
    assert veo_rows["generate_audio"] == ["generate_audio", "no", "boolean", "true", "-"]
    assert veo_rows["duration"] == ["duration", "no", "string", "8s", "4s,", "6s,", "8s"]
    assert creatify_conn.count("GET", SCHEMAS_PATH) == 1


def test_main_json_is_describe_models(creatify_conn, capsys):
    assert main(["--json", "nano-banana", KLING]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == CreatifyHook().describe_models(["nano-banana", KLING])
    assert [m["model_name"] for m in printed] == [KLING, "nano-banana"]


def test_main_sandbox_needs_no_connection(monkeypatch, capsys):
    monkeypatch.delenv(CONN_VAR, raising=False)
    assert main(["--sandbox", "nano-banana"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "nano-banana (text_to_image)"
    assert "prompt" in out and "yes" in out and err == ""
    assert CONN_VAR not in os.environ  # the sandbox's connection does not outlive the command


def test_main_sandbox_with_another_conn_id(monkeypatch, capsys):
    monkeypatch.delenv("AIRFLOW_CONN_MY_CREATIFY", raising=False)
    assert main(["--sandbox", "--conn-id", "my_creatify", "--json"]) == 0
    assert [m["model_name"] for m in json.loads(capsys.readouterr().out)] == sorted(MODELS)
    assert "AIRFLOW_CONN_MY_CREATIFY" not in os.environ


def test_main_wrong_key_fails_without_showing_it(creatify_conn, monkeypatch, capsys):
    conn = json.loads(creatify_conn.connection_json())
    wrong_key = "wrong-key-9f3b1c7e"
    monkeypatch.setenv(CONN_VAR, json.dumps({**conn, "password": wrong_key}))
    assert main(["nano-banana"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("creatify-models: ") and "rejected the credentials" in err and "401" in err
    assert wrong_key not in err and creatify_conn.api_key not in err
    assert "Traceback" not in err
    assert creatify_conn.count("GET", SCHEMAS_PATH, status=401) == 1  # not retried


def test_main_undefined_connection(monkeypatch, capsys):
    monkeypatch.delenv("AIRFLOW_CONN_NOWHERE", raising=False)
    assert main(["--conn-id", "nowhere"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "'nowhere' is not defined" in err


def test_main_unknown_model_is_reported(creatify_conn, capsys):
    assert main(["nano-banana", "no-such-model"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "nano-banana (text_to_image)"
    assert err == "creatify-models: no such model: no-such-model\n"


def test_console_script_sandbox_json():
    script = Path(sys.executable).parent / "creatify-models"
    assert script.is_file(), f"{script} missing: reinstall the package (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k != CONN_VAR}
    result = subprocess.run(
        [str(script), "--sandbox", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    models = json.loads(result.stdout)
    assert [m["model_name"] for m in models] == sorted(MODELS)
    nano = by_name(models)["nano-banana"]
    assert nano["fields"][0]["name"] == "prompt" and nano["fields"][0]["required"] is True
    assert fields_of(nano)["output_format"]["enum"] == ["png", "jpeg"]


def test_main_credits_prints_the_balance(creatify_conn, capsys):
    assert main(["--credits"]) == 0
    assert capsys.readouterr().out == f"{format_credits(CreatifyHook().remaining_credits())} credits\n"
    assert main(["--credits", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"remaining_credits": CreatifyHook().remaining_credits()}


def test_main_credits_of_the_sandbox_needs_no_connection(monkeypatch, capsys):
    monkeypatch.delenv(CONN_VAR, raising=False)
    assert main(["--sandbox", "--credits", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"remaining_credits": SandboxSettings().credits}


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """``creatify-models | head``: the pipe closes before the table is written; no traceback follows."""
    script = Path(sys.executable).parent / "creatify-models"
    env = {k: v for k, v in os.environ.items() if k != CONN_VAR}
    proc = subprocess.Popen(
        [str(script), "--sandbox"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    proc.stdout.close()  # long before the command, still importing Airflow, writes its first line
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
