"""Apache Airflow provider for Creatify's Asset Generator API.

Kept import-light on purpose: Airflow imports this module to read the provider info.
"""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata read by Airflow's providers manager (``airflow providers get``, the UI's
    Providers and Connections pages, ``airflow config list``). Its one option of its own,
    ``[creatify] allow_private_hosts``, is the default of the copy operator's ``allow_private_hosts``."""
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
                "python-modules": [
                    "airflow_provider_creatify.operators.creatify",
                    "airflow_provider_creatify.operators.copy",
                    "airflow_provider_creatify.operators.batch",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "Creatify", "python-modules": ["airflow_provider_creatify.sensors.creatify"]}
        ],
        "triggers": [
            {
                "integration-name": "Creatify",
                "python-modules": [
                    "airflow_provider_creatify.triggers.creatify",
                    "airflow_provider_creatify.triggers.batch",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": "creatify",
                "hook-class-name": "airflow_provider_creatify.hooks.creatify.CreatifyHook",
                "hook-name": "Creatify",
                # Airflow 3.2+ reads the form here; older ones ask CreatifyHook.get_ui_field_behaviour.
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"login": "API ID", "password": "API Key", "host": "Base URL"},
                    "placeholders": {
                        "login": "Your Creatify API ID (X-API-ID)",
                        "password": "Your Creatify API key (X-API-KEY)",
                        "host": "https://api.creatify.ai (default)",
                        "extra": '{"proxy": "http://proxy.internal:3128"} (only behind an egress proxy)',
                    },
                },
            }
        ],
        "extra-links": ["airflow_provider_creatify.links.CreatifyAssetLink"],
        "config": {
            "creatify": {
                "description": "The Creatify provider.",
                "options": {
                    "allow_private_hosts": {
                        "description": (
                            "Let CreatifyCopyAssetsOperator (and CreatifyHook.copy_assets) download assets "
                            "from loopback, private, link-local and cloud-metadata addresses, and over "
                            "plain http from loopback. Off: asset URLs are fetched over https from public "
                            "hosts only. The sandbox's pytest fixture and the demo turn it on (the "
                            "sandbox serves its assets from 127.0.0.1)."
                        ),
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "True",
                        "default": "False",
                    }
                },
            }
        },
    }
