import pytest

import tinypkg
from conftest import SETUPS


@pytest.mark.memleak
@pytest.mark.parametrize("codec", ["json", "repr"])
def test_roundtrip(payload, codec):
    assert tinypkg.roundtrip(payload, codec) == payload
    assert SETUPS == {"session": 1, "module": 1}  # broader scopes set up once


@pytest.mark.memleak
def test_tmp_path(store, tmp_path, capsys):
    store.put("k", {"a": 1})
    print("captured, then dropped")
    assert store.get("k") == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]  # fresh every time


@pytest.mark.memleak
class TestClass:
    @pytest.fixture(scope="class")
    def shared(self):
        return []

    def setup_method(self, method):
        self.local = [1, 2, 3]

    def test_method(self, shared, payload):
        shared.append(1)
        shared.clear()
        assert tinypkg.roundtrip(self.local) == self.local


@pytest.mark.memreg(processes=5, iterations=200, confirm={"iterations": 200})
def test_leaky():
    tinypkg.remember({"n": 1})


def test_fails():
    assert tinypkg.roundtrip({"a": 1}) == {"a": 2}


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass
