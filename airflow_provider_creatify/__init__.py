"""Apache Airflow provider for Creatify's Asset Generator API.

Kept import-light on purpose: Airflow imports this module to read the provider info.
"""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata read by Airflow's providers manager (``airflow providers get``, the UI's
    Providers and Connections pages). The provider reads no configuration section of its own (only
    Airflow's ``[operators] default_deferrable``), so it declares none."""
    return {
        "package-name": "airflow-provider-creatify",
        "name": "Creatify",
        "description": "Create and await Creatify Asset Generator generations (image, video, audio).",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Creatify",
                "external-doc-url": "https://docs.creatify.ai",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {"integration-name": "Creatify", "python-modules": ["airflow_provider_creatify.hooks.creatify"]}
        ],
        "operators": [
            {
                "integration-name": "Creatify",
                "python-modules": ["airflow_provider_creatify.operators.creatify"],
            }
        ],
        "sensors": [
            {"integration-name": "Creatify", "python-modules": ["airflow_provider_creatify.sensors.creatify"]}
        ],
        "triggers": [
            {
                "integration-name": "Creatify",
                "python-modules": ["airflow_provider_creatify.triggers.creatify"],
            }
        ],
        "connection-types": [
            {
                "connection-type": "creatify",
                "hook-class-name": "airflow_provider_creatify.hooks.creatify.CreatifyHook",
                "hook-name": "Creatify",
                # Airflow 3.2+ reads the form here; older ones ask CreatifyHook.get_ui_field_behaviour.
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra"],
                    "relabeling": {"login": "API ID", "password": "API Key", "host": "Base URL"},
                    "placeholders": {
                        "login": "Your Creatify API ID (X-API-ID)",
                        "password": "Your Creatify API key (X-API-KEY)",
                        "host": "https://api.creatify.ai (default)",
                    },
                },
            }
        ],
        "extra-links": ["airflow_provider_creatify.operators.creatify.CreatifyAssetLink"],
    }
