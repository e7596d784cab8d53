"""Entry point of the kubesandbox policy pack; the policies themselves live in rules.py.

Building PolicyPack starts the policy server and never returns, so this file holds nothing
else and no test imports it.
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import ALL_POLICIES

PolicyPack(
    name="kubesandbox-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL_POLICIES,
)
