"""Apache Airflow provider for Creatify's Asset Generator API.

Kept import-light on purpose: Airflow imports this module to read the provider info.
"""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata read by Airflow's providers manager (``airflow providers list``)."""
    return {
        "package-name": "airflow-provider-creatify",
        "name": "Creatify",
        "description": "Create and await Creatify Asset Generator generations (image, video, audio).",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "creatify",
                "hook-class-name": "airflow_provider_creatify.hooks.creatify.CreatifyHook",
            }
        ],
    }
