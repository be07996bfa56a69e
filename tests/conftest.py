from __future__ import annotations

import pytest

from kaigai_lib.synthetic import World, generate


@pytest.fixture(scope="session")
def tiny_world() -> World:
    return generate(preset="tiny", seed=0)


@pytest.fixture(scope="session")
def book_world() -> World:
    return generate(preset="book", seed=0)
