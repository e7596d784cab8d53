"""The pack's entry point, run the way the Pulumi CLI runs it: as its own process.

Building PolicyPack serves gRPC on a loopback port until killed, so the pack runs in a child
process that this test stops. Talking to it over that port checks what unit tests cannot: that
``__main__.py`` imports its rules from its own directory and serves every policy as mandatory,
and that a violation survives the engine's serialisation.
"""

from __future__ import annotations

import selectors
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policy import rules

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"
STARTUP_SECONDS = 60


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    pack = subprocess.Popen(
        [sys.executable, str(PACK_DIR / "__main__.py")],
        cwd=PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert pack.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(pack.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=STARTUP_SECONDS)
        port_line = pack.stdout.readline() if ready else b""
        if not port_line.strip().isdigit():
            pack.kill()
            _, stderr = pack.communicate(timeout=10)
            pytest.fail(f"policy pack did not start: {stderr.decode(errors='replace')}")
        with grpc.insecure_channel(f"127.0.0.1:{int(port_line)}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        pack.kill()
        pack.wait(timeout=10)


def _resource(
    resource_type: str, name: str, props: dict[str, Any]
) -> analyzer_pb2.AnalyzerResource:
    properties = struct_pb2.Struct()
    json_format.ParseDict(props, properties)
    return analyzer_pb2.AnalyzerResource(
        type=resource_type,
        name=name,
        urn=f"urn:pulumi:dev::kubesandbox::{resource_type}::{name}",
        properties=properties,
    )


def test_pack_serves_every_policy_as_mandatory(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "kubesandbox-guardrails"
    assert sorted(policy.name for policy in info.policies) == sorted(
        policy.name for policy in rules.ALL_POLICIES
    )
    assert {policy.enforcementLevel for policy in info.policies} == {
        analyzer_pb2.EnforcementLevel.MANDATORY
    }


def test_pack_reports_a_stack_violation_over_grpc(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    namespace = _resource(
        rules.NAMESPACE_TYPE,
        "untrusted",
        {
            "metadata": {
                "name": "untrusted",
                "labels": {rules.SANDBOXED_LABEL: "true"},
                "annotations": {rules.ALLOWED_RUNTIME_CLASSES_ANNOTATION: "gvisor"},
            }
        },
    )
    pod = _resource(
        "kubernetes:core/v1:Pod",
        "debug",
        {"metadata": {"namespace": "untrusted"}, "spec": {"containers": []}},
    )
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[namespace, pod]))
    runtime_class = [d for d in response.diagnostics if d.policyName == "sandboxed-runtime-class"]
    # The SDK puts the policy's description on the line before the violation.
    assert [(d.message, d.urn) for d in runtime_class] == [
        (
            f"{rules.sandboxed_runtime_class.description}\n"
            'Pod "debug": spec.runtimeClassName is not set; set it to one of gvisor '
            '(allowed by namespace "untrusted").',
            "urn:pulumi:dev::kubesandbox::kubernetes:core/v1:Pod::debug",
        )
    ]
