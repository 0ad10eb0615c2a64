"""Walking and editing the JSON metadata of model and checkpoint files, for the fuzz tests
that replace one field at a time with a hostile value."""

import copy
from collections.abc import Iterator
from typing import Any


def leaf_paths(node: Any, list_items: int, path: tuple = ()) -> Iterator[tuple]:
    """Every key path in `node` (dicts fully, the first `list_items` items of each list)."""
    if path:
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaf_paths(value, list_items, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:list_items]):
            yield from leaf_paths(value, list_items, (*path, i))


def replaced(meta: dict, path: tuple, value: Any) -> dict:
    """A deep copy of `meta` with the entry at `path` set to `value`."""
    out = copy.deepcopy(meta)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out
