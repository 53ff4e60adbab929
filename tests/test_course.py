"""The course as a whole: links generated from README's one repository line, notebooks committed
executed and shaped as the course promises (objectives, exercises, checked cells, summary)."""

import json
import re
import shutil
from urllib.parse import parse_qs, urlsplit

import pytest

from tools import course

NOTEBOOKS = course.lessons()
EXPECTED = ["01_vanilla_rnn.ipynb", "02_gru.ipynb", "03_lstm.ipynb", "04_bilstm.ipynb", "05_comparison.ipynb",
            "06_char_lm.ipynb"]


@pytest.fixture
def course_copy(tmp_path):
    shutil.copy(course.README, tmp_path / "README.md")
    shutil.copytree(course.NOTEBOOK_DIR, tmp_path / "notebooks", ignore=shutil.ignore_patterns(".*"))
    return tmp_path / "README.md", tmp_path / "notebooks"


def test_the_course_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == EXPECTED
    assert (course.NOTEBOOK_DIR / course.CLASSROOM).exists()  # the classroom page is not a lesson


def test_links_are_in_sync_with_readme(course_copy):
    readme, notebooks = course_copy
    assert course.sync_links(notebooks, readme) == []


def test_a_fork_changes_one_line_and_every_link_follows(course_copy):
    readme, notebooks = course_copy
    url, slug = course.repository(readme)
    readme.write_text(readme.read_text().replace(url, "https://github.com/someone/fork"))
    changed = course.sync_links(notebooks, readme)
    assert {p.name for p in changed} == {"README.md", *EXPECTED, course.CLASSROOM}
    for path in [readme, *notebooks.glob("*.ipynb")]:
        text = path.read_text()
        assert slug not in text and "someone/fork" in text
    setup = json.loads((notebooks / EXPECTED[0]).read_text())["cells"][1]
    assert "git+https://github.com/someone/fork" in "".join(setup["source"])
    page = json.loads((notebooks / course.CLASSROOM).read_text())["cells"][0]
    assert "git+https://github.com/someone/fork" in "".join(page["source"])
    text = readme.read_text()
    assert "https://mybinder.org/v2/gh/someone/fork/HEAD?urlpath=voila/render/notebooks/classroom.ipynb" in text
    assert course.nbgitpuller_link(readme=readme) in text


def test_readme_links_the_classroom_page_through_voila_on_binder():
    text = course.README.read_text()
    badges = text[text.index("<!-- badges -->"):text.index("<!-- /badges -->")]
    _, slug = course.repository()
    assert f"(https://mybinder.org/v2/gh/{slug}/HEAD?urlpath=voila/render/notebooks/classroom.ipynb)" in badges


def test_the_nbgitpuller_link_pulls_this_repository_and_opens_the_first_lesson(course_copy):
    readme, _ = course_copy
    url, slug = course.repository(readme)
    link = course.nbgitpuller_link("https://hub.school.example/", readme=readme)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "hub.school.example", "/hub/user-redirect/git-pull")
    query = parse_qs(parts.query)
    assert query == {"repo": [url], "branch": ["main"],
                     "urlpath": [f"lab/tree/{slug.split('/')[1]}/notebooks/{EXPECTED[0]}"]}
    assert course.nbgitpuller_link(readme=readme) in readme.read_text()  # README shows it for the placeholder hub
    with pytest.raises(ValueError, match="hub must be"):
        course.nbgitpuller_link("hub.school.example", readme=readme)


def test_a_readme_without_the_repository_line_is_refused(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no url here\n")
    with pytest.raises(ValueError, match="repository-url"):
        course.repository(readme)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_and_complete(path):
    cells = json.loads(path.read_text())["cells"]
    assert "rnnlib-badges" in cells[0]["metadata"].get("tags", [])
    assert "rnnlib-setup" in cells[1]["metadata"].get("tags", [])
    code = [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert all(c["execution_count"] is not None for c in code), "a code cell was never executed"
    errors = [c for c in code if any(o["output_type"] == "error" for o in c["outputs"])]
    assert all("raises-exception" in c["metadata"].get("tags", []) for c in errors)
    source = "\n".join("".join(c["source"]) for c in cells)
    assert "objectives" in source.lower() and "summary" in source.lower()
    assert source.count("# NBVAL_CHECK_OUTPUT") >= 1
    assert len(set(re.findall(r"\w+_exercise\b", source))) >= 2, "two self-checking exercises"
