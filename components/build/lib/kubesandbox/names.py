"""Name rules of Kubernetes and GKE, checked before a name reaches an API that would refuse it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from kubesandbox.errors import Problem

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# GKE cluster and node pool names: start with a letter, end with a letter or digit, at most 40.
_GKE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")


def dns_label(field: str, value: str) -> list[Problem]:
    """RFC 1123 label: namespaces, RuntimeClass handlers, label values that name objects."""
    if len(value) <= 63 and _DNS_LABEL.match(value):
        return []
    return [
        Problem(
            field,
            value,
            "must be a DNS label: at most 63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit",
        )
    ]


def dns_1035_label(field: str, value: str) -> list[Problem]:
    """RFC 1035 label: Service names, which must also start with a letter."""
    if len(value) <= 63 and _DNS_1035_LABEL.match(value):
        return []
    return [
        Problem(
            field,
            value,
            "must be a DNS-1035 label: at most 63 lowercase letters, digits or '-', "
            "starting with a letter and ending with a letter or digit",
        )
    ]


def dns_subdomain(field: str, value: str) -> list[Problem]:
    """RFC 1123 subdomain: RuntimeClass names."""
    if len(value) <= 253 and _DNS_SUBDOMAIN.match(value):
        return []
    return [
        Problem(
            field,
            value,
            "must be a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253",
        )
    ]


def gke_name(field: str, value: str) -> list[Problem]:
    """GKE cluster and node pool names."""
    if _GKE_NAME.match(value):
        return []
    return [
        Problem(
            field,
            value,
            "must be a GKE name: 1-40 lowercase letters, digits or '-', "
            "starting with a letter and ending with a letter or digit",
        )
    ]


def duplicates(field: str, values: Iterable[str]) -> list[Problem]:
    """One problem for each name that appears more than once."""
    counts = Counter(values)
    return [
        Problem(field, name, f"appears {n} times; each must be unique")
        for name, n in counts.items()
        if n > 1
    ]
