"""Fixtures of the fault-injection suite: short mode by default, long with --chaos-long or
BELLWETHER_CHAOS_LONG=1. Every history is also written under $BELLWETHER_CHAOS_OUT when set;
a failing test keeps its history in any case (the path is printed)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_addoption(parser):
    parser.addoption("--chaos-long", action="store_true", default=False,
                     help="run the fault-injection suite longer, with more faults")
    parser.addoption("--chaos-seed", type=int, default=None,
                     help="seed of the fault schedules (default: fixed per test)")


@pytest.fixture(scope="session")
def chaos_long(request):
    return request.config.getoption("--chaos-long") or os.environ.get(
        "BELLWETHER_CHAOS_LONG") == "1"


@pytest.fixture(scope="session")
def chaos_seed(request):
    seed = request.config.getoption("--chaos-seed")
    if seed is None and os.environ.get("BELLWETHER_CHAOS_SEED"):
        seed = int(os.environ["BELLWETHER_CHAOS_SEED"])
    return seed


@pytest.fixture(scope="session")
def chaos_out():
    """Directory for histories that pass too, or None."""
    out = os.environ.get("BELLWETHER_CHAOS_OUT")
    if out:
        os.makedirs(out, exist_ok=True)
    return out

