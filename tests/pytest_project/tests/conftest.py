import pytest

import tinypkg

SETUPS = {"session": 0, "module": 0}


@pytest.fixture(scope="session")
def settings():
    SETUPS["session"] += 1
    yield {"codec": "json"}


@pytest.fixture(scope="module")
def payload(settings):
    SETUPS["module"] += 1
    return {"items": list(range(100)), "codec": settings["codec"]}


@pytest.fixture
def store(tmp_path):
    s = tinypkg.Store(tmp_path)
    yield s
    s.root = None
