"""Pulumi's in-process mock engine, made to record what a program registers.

Everything above the engine is real: the program, the stack objects, the components and the
provider SDKs. The engine itself is replaced, so nothing reaches a cloud, and every registration
is recorded with the options a reviewer cares about (parent, provider, protect, ignoreChanges...).
Values a provider computes are unknown, exactly as in `pulumi preview` of a new stack.
"""

from __future__ import annotations

import asyncio
import functools
import json
import runpy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, settings

UNKNOWN = "(known after apply)"
"""How a value that only the provider can compute is shown."""

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Registration:
    """One resource as the engine received it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    inputs: Mapping[str, Any]
    dependencies: tuple[str, ...]
    protect: bool
    delete_before_replace: bool
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    custom_timeouts: Mapping[str, str]
    aliases: tuple[str, ...]


@dataclass
class Plan:
    """What a program registered, in registration order, and the stack outputs it exported."""

    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    default_provider_uses: list[str] = field(default_factory=list)
    stack_urn: str = ""

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources are named {name!r}")
        return matches[0]


STACK_REFERENCE = "pulumi:pulumi:StackReference"


class _Mocks(pulumi.runtime.Mocks):
    """A resource's state is its inputs: the provider-computed rest stays unknown. A
    StackReference's state is the outputs given for the stack it names."""

    def __init__(self) -> None:
        self.stack_references: Mapping[str, Mapping[str, Any]] = {}
        """Outputs by stack name, for the StackReferences the program reads."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            stack = str(args.inputs.get("name") or args.name)
            if stack not in self.stack_references:
                raise KeyError(
                    f"StackReference {stack!r}: no outputs given for it; pass "
                    f"stack_references={{{stack!r}: {{...}}}} to engine.run"
                )
            outputs = dict(self.stack_references[stack])
            return stack, {"name": stack, "outputs": outputs, "secretOutputNames": []}
        return f"{args.name}-id", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(f"the offline plan cannot answer the invoke {args.token}")


class RecordingMonitor(mocks.MockMonitor):
    """The mock resource monitor, also keeping each registration's options."""

    def __init__(self, disabled_default_providers: frozenset[str]) -> None:
        self.resource_mocks = _Mocks()
        super().__init__(self.resource_mocks)
        self.plan = Plan()
        self._disabled = disabled_default_providers

    def RegisterResource(self, request: Any) -> Any:
        # The mock monitor gives each executor thread an event loop and never closes it; close
        # the ones it made here, so that none is left for the garbage collector to trip over.
        thread_had_loop = _has_event_loop()
        try:
            response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        finally:
            if not thread_had_loop and _has_event_loop():
                asyncio.get_event_loop().close()
                asyncio.set_event_loop(None)
        self._record(request, response)
        return response

    def _record(self, request: Any, response: Any) -> None:
        if request.type == "pulumi:pulumi:Stack":
            self.plan.stack_urn = response.urn
            return
        package = request.type.split(":")[0]
        if request.custom and not request.provider and package in self._disabled:
            self.plan.default_provider_uses.append(response.urn)
        timeouts = request.customTimeouts
        self.plan.resources.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=request.custom,
                parent=request.parent,
                provider=request.provider.rsplit("::", 1)[0] if request.provider else "",
                inputs=_plain(rpc.deserialize_properties(request.object, keep_unknowns=True)),
                dependencies=tuple(request.dependencies),
                protect=bool(request.protect),
                delete_before_replace=request.deleteBeforeReplace,
                ignore_changes=tuple(request.ignoreChanges),
                replace_on_changes=tuple(request.replaceOnChanges),
                custom_timeouts={
                    k: v
                    for k, v in (
                        ("create", timeouts.create),
                        ("update", timeouts.update),
                        ("delete", timeouts.delete),
                    )
                    if v
                },
                aliases=tuple(
                    json.dumps(json_format.MessageToDict(a), sort_keys=True)
                    for a in request.aliases
                ),
            )
        )


def _has_event_loop() -> bool:
    if threading.current_thread() is threading.main_thread():
        return True
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        return False
    return True


def _capture_outputs(plan: Plan) -> pulumi.Output[list[None]]:
    """Stack exports, resolved where they are known. The mock runtime finishes the stack resource
    before the program runs, so exports never reach the monitor and are read from the stack."""
    root = settings.get_root_resource()
    exports: dict[str, Any] = getattr(root, "outputs", {})

    def keep(key: str) -> Callable[[Any], None]:
        def store(value: Any) -> None:
            plan.outputs[key] = _plain(value)

        return store

    captured = []
    for key, value in exports.items():
        plan.outputs[key] = UNKNOWN
        captured.append(pulumi.Output.from_input(value).apply(keep(key)))
    return pulumi.Output.all(*captured)


def _plain(value: Any) -> Any:
    """Engine values as plain data: unknowns spelled out, secrets marked."""
    if isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return "[secret]"
        return {k: _plain(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # The wire carries every number as a double; reviewers read counts as integers.
        return int(value)
    return value


def run(
    program: Callable[[], object],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
) -> Plan:
    """Run `program` against the recording engine with the given config, as a preview would.
    `stack_references` gives, by stack name, the outputs a `pulumi.StackReference` reads."""
    disabled = frozenset(json.loads(config.get("pulumi:disable-default-providers", "[]")))
    monitor = RecordingMonitor(disabled)
    monitor.resource_mocks.stack_references = stack_references or {}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        settings.ROOT.set(None)
        pulumi.runtime.set_all_config(dict(config))
        mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=True, monitor=monitor)

        def body() -> pulumi.Output[list[None]]:
            program()
            return _capture_outputs(monitor.plan)

        pulumi.runtime.test(body)()  # type: ignore[no-untyped-call]
    finally:
        pulumi.runtime.set_all_config({})
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    return monitor.plan


def run_stack(stack: str, config: Mapping[str, str] | None = None) -> Plan:
    """Run the project's real __main__.py for `stack`, with config from its Pulumi.<stack>.yaml
    unless `config` is given."""
    project = project_name()
    if config is None:
        config = stack_config(stack)
    return run(
        lambda: runpy.run_path(str(PROJECT_ROOT / "__main__.py"), run_name="__main__"),
        project=project,
        stack=stack,
        config=config,
    )


@functools.cache
def project_name() -> str:
    """The project's name from Pulumi.yaml, read once per process."""
    document = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    return str(document["name"])


def stack_config(stack: str) -> dict[str, str]:
    """A stack's config file as the engine hands it to the program: every value a string,
    structured values as JSON, keys without a namespace put under the project's."""
    path = PROJECT_ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}
    document = yaml.safe_load(path.read_text()) or {}
    project = project_name()
    config: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{project}:{key}"
        config[full_key] = value if isinstance(value, str) else json.dumps(value)
    return config
