"""Runs the consumer program beside this file under Pulumi's mock engine and prints, as JSON,
what it registered. Uses only the Pulumi SDK, so it runs in a virtualenv holding nothing but
the kubesandbox wheel and its dependencies."""

import asyncio
import json
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


class Monitor(mocks.MockMonitor):
    def __init__(self) -> None:
        super().__init__(Mocks())
        self.registered: list[dict[str, Any]] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                {
                    "type": request.type,
                    "name": request.name,
                    "urn": response.urn,
                    "parent": request.parent,
                    "provider": request.provider.rsplit("::", 1)[0],
                    "inputs": rpc.deserialize_properties(request.object, keep_unknowns=True),
                }
            )
        return response


def main() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())
    monitor = Monitor()
    mocks.set_mocks(monitor.mocks, project="consumer", stack="dev", preview=True, monitor=monitor)
    program = Path(__file__).with_name("__main__.py")
    run = pulumi.runtime.test(lambda: runpy.run_path(str(program), run_name="__main__"))  # type: ignore[no-untyped-call]
    run()
    json.dump(monitor.registered, sys.stdout, default=str)


if __name__ == "__main__":
    main()
