from pathlib import Path

import pytest

from tests.installer.harness import Node


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return Node(tmp_path)
