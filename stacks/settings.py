"""What a deployer sets per stack with `pulumi config set`, read and checked in one place."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from kubesandbox.errors import Problem


@dataclass(frozen=True)
class Settings:
    """Deployer-provided settings of one stack."""

    project: str
    """Google Cloud project (`gcp:project`)."""
    region: str
    """Google Cloud region (`gcp:region`)."""


def read(stack: str) -> tuple[Settings, list[Problem]]:
    """The stack's settings, and a problem for each one that is missing."""
    gcp = pulumi.Config("gcp")
    found: list[Problem] = []
    values: dict[str, str] = {}
    for key in ("project", "region"):
        value = gcp.get(key)
        if not value:
            found.append(
                Problem(
                    f"gcp:{key}",
                    value,
                    f"is not set; run `pulumi config set gcp:{key} <{key}> --stack {stack}` "
                    f"or add it to stacks/Pulumi.{stack}.yaml",
                )
            )
        values[key] = value or ""
    return Settings(project=values["project"], region=values["region"]), found
