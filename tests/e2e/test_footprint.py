"""The memory walk (issue: the course must fit Binder): one Jupyter server, each lesson opened in its
own kernel, run top to bottom and closed as a learner with the Binder settings would, then the
classroom page (every tab) and the page under Voilà. Takes minutes: it runs the whole course.
It runs with the browser tests (`make test-browser`, hence CI), beside the other servers it starts.
The figures themselves are written by ``python -m tools.benchmarks.footprint`` (benchmarks/footprint.md)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tools.benchmarks import footprint

pytestmark = pytest.mark.timeout(2400)


def test_a_learner_walking_through_the_course_stays_within_1_gib():
    # in a thread of its own: the browser tests' Playwright keeps an event loop running in this one, and
    # the walk drives its kernels with asyncio.run
    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(footprint.measure, log=lambda line: None).result()
    summary = footprint.report(result, "tests/e2e/test_footprint.py")
    assert [run.name for run in result.runs][:5] == [p.name for p in footprint.lessons()][:5], summary
    for run in result.runs:
        # closing the notebook gave its kernel's memory back: the server alone is left
        assert run.total_after_close is not None and run.total_after_close < run.total_after - run.peak_pss / 2, summary
    assert [run.first_figure_s is not None for run in result.runs][:3] == [True, True, True], summary
    assert result.voila is not None and result.voila.first_figure_s is not None, summary
    assert result.peak_total <= footprint.GOAL_BYTES, summary
