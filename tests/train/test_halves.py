"""descent.train.halves: the timing choice between two threads and the caller alone
(the results are the same bits either way: tests/train/test_fastpath_properties.py)."""

from __future__ import annotations

import numpy as np

from descent.train import halves


def _drive(chooser: halves.Chooser, times: dict[int, float], runs: int) -> list[int]:
    """Run `runs` runs, each taking times[workers]; the workers of each run."""
    used = []
    for _ in range(runs):
        w = chooser.workers()
        used.append(w)
        chooser.record(times[w])
    return used


def test_two_threads_are_taken_when_they_pay_and_kept():
    c = halves.Chooser(2, probe=3, settle=1)
    used = _drive(c, {1: 2.0, 2: 1.0}, 200)
    assert used[0] == 1 and used[-1] == 2
    assert used.count(1) < 30  # alone again only for the trial and the rechecks


def test_on_a_busy_machine_the_trials_become_rare():
    c = halves.Chooser(2, probe=3, settle=1, first_gap=8, longest=128)
    used = _drive(c, {1: 1.0, 2: 3.0}, 1000)
    assert used[:8] == [1] * 8
    # Each lost trial doubles the gap (8, 16, ... 128 runs): trials of 4 runs (one not
    # counted), one in more than 128 runs at the end.
    assert used.count(2) <= 4 * 10
    assert used[-500:].count(2) <= 4 * 4


def test_the_caller_goes_back_alone_as_soon_as_the_load_comes_back():
    c = halves.Chooser(2, probe=3, settle=1)
    _drive(c, {1: 2.0, 2: 1.0}, 40)
    assert c.workers() == 2
    used = _drive(c, {1: 2.0, 2: 5.0}, 10)
    assert used[-1] == 1 and used.count(2) <= 4


def test_one_thread_allowed_is_always_alone():
    c = halves.Chooser(1)
    assert set(_drive(c, {1: 2.0, 2: 0.1}, 50)) == {1}


def test_cuts_are_a_function_of_the_shapes():
    layout = np.array([[0, 784, 256, 2], [200960, 256, 128, 2], [233856, 128, 10, 0]])
    np.testing.assert_array_equal(halves.cuts(layout),
                                  [[0, 392, 785], [0, 128, 257], [0, 64, 129]])


def test_one_run_far_slower_on_two_threads_ends_a_trial_at_once():
    c = halves.Chooser(2, probe=3, settle=1, first_gap=4)
    used = _drive(c, {1: 1.0, 2: 10.0}, 12)
    assert used == [1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1]  # the next trial after 8 runs
