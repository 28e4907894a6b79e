"""Fixtures of the explain tests."""

from __future__ import annotations

import pytest
from explain_helpers import mazur_network

import glassnet as gn


@pytest.fixture
def mazur() -> gn.Network:
    return mazur_network()
