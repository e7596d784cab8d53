"""Entry point of `pulumi up`: deploys the stack named by `pulumi stack select`."""

import pulumi

from stacks.program import deploy

deploy(pulumi.get_stack())
