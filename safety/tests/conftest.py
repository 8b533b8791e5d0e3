"""Safety test fixtures: each test starts with this process's banned-word matcher
forgotten (the shared cache is cleared by the root conftest)."""

import pytest

from safety import banned


@pytest.fixture(autouse=True)
def _fresh_matcher():
    banned.matcher_reset()
    yield
    banned.matcher_reset()
