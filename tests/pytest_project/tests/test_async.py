import pytest
import pytest_asyncio

import tinypkg


@pytest_asyncio.fixture
async def client():
    yield tinypkg.Client({"k": 1})


@pytest.mark.memleak
@pytest.mark.asyncio
async def test_async_client(client):
    assert await client.get("k") == 1


@pytest.mark.memleak
@pytest.mark.anyio
async def test_anyio():
    assert await tinypkg.Client({"k": 2}).get("k") == 2


@pytest.fixture
def anyio_backend():
    return "asyncio"
