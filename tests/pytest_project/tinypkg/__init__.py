"""A tiny package for memreg's end-to-end tests of its pytest bridge."""

import asyncio
import json

_SEEN = []  # the leak: remember() keeps every payload it is given


class TinyWarning(UserWarning):
    pass


def roundtrip(obj, codec="json"):
    if codec == "json":
        return json.loads(json.dumps(obj))
    if codec == "repr":
        return eval(repr(obj), {"__builtins__": {}})
    raise ValueError("unknown codec %r" % codec)


def remember(payload):
    """Leaks: every call keeps its payload for good."""
    _SEEN.append(dict(payload))
    return len(_SEEN)


class Store:
    """A key-value store on disk."""

    def __init__(self, root):
        self.root = root

    def put(self, key, value):
        with open(str(self.root / key), "w") as f:
            json.dump(value, f)

    def get(self, key):
        with open(str(self.root / key)) as f:
            return json.load(f)


class Client:
    """An async client (no network: answers from a dict after a loop turn)."""

    def __init__(self, data):
        self.data = data

    async def get(self, key):
        await asyncio.sleep(0)
        return self.data[key]
