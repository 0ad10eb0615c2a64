"""A Dask LocalCluster for the suite: in-process workers (threads of this process) start in
about a second; the tests that need real worker processes start their own."""

from __future__ import annotations

import logging

import pytest

from descent.distributed import close, connect


@pytest.fixture(scope="module")
def client():
    logging.getLogger("distributed").setLevel(logging.ERROR)
    c = connect("local:2", processes=False)
    yield c
    close(c)


