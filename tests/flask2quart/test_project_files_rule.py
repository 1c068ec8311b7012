from __future__ import annotations

from pathlib import Path

import pytest

from flask2quart import port_paths

from .porting import dedent

ASYNC_TEST = "def test_home(client):\n    assert client.get('/').status_code == 200\n"


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"tests/test_home.py": ASYNC_TEST, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
    return root


def test_pyproject_gets_the_loop_scope_and_quart_instead_of_flask(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "pyproject.toml": """\
            [project]
            name = "site"
            dependencies = [
                "Flask[async]>=2.3",  # the framework
                "requests",
            ]

            [project.optional-dependencies]
            test = ['pytest>=8', 'coverage']

            [tool.pytest.ini_options]  # pytest's own
            filterwarnings = ["error"]
            """
        },
    )
    result = port_paths([project])
    assert result.ported[project / "pyproject.toml"] == dedent(
        """\
        [project]
        name = "site"
        dependencies = [
            "quart>=0.22,<0.23",  # the framework
            "requests",
        ]

        [project.optional-dependencies]
        test = ['pytest>=8', 'pytest-asyncio>=0.24', 'coverage']

        [tool.pytest.ini_options]  # pytest's own
        asyncio_default_fixture_loop_scope = "function"
        filterwarnings = ["error"]
        """
    )
    assert result.findings == []


@pytest.mark.parametrize(
    ("name", "section"),
    [("pytest.ini", "[pytest]"), ("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")],
)
def test_ini_files_get_the_loop_scope_under_pytests_section(
    tmp_path: Path, name: str, section: str
) -> None:
    config = f"[metadata]\nname = site\n\n{section}\r\nfilterwarnings = error\r\n"
    project = _project(tmp_path, {name: config})
    result = port_paths([project])
    assert result.ported[project / name] == (
        f"[metadata]\nname = site\n\n{section}\r\n"
        "asyncio_default_fixture_loop_scope = function\r\nfilterwarnings = error\r\n"
    )


def test_requirements_swap_flask_and_add_pytest_asyncio_beside_pytest(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "requirements.txt": "flask==3.1.0  # web\nFlask-Login\n",
            "requirements-dev.txt": "-r requirements.txt\npytest\n",
        },
    )
    result = port_paths([project])
    assert result.ported[project / "requirements.txt"] == (
        "quart>=0.22,<0.23  # web\nFlask-Login\n"
    )
    assert result.ported[project / "requirements-dev.txt"] == (
        "-r requirements.txt\npytest\npytest-asyncio>=0.24\n"
    )


def test_a_configuration_already_set_is_left_as_it_is(tmp_path: Path) -> None:
    config = '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "module"\n'
    project = _project(tmp_path, {"pyproject.toml": config})
    assert project / "pyproject.toml" not in port_paths([project]).ported


def test_synchronous_tests_need_no_pytest_asyncio(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "pytest.ini": "[pytest]\nfilterwarnings = error\n",
            "requirements.txt": "flask\npytest\n",
            "tests/test_home.py": "def test_one():\n    pass\n",
        },
    )
    result = port_paths([project])
    assert project / "pytest.ini" not in result.ported
    assert result.ported[project / "requirements.txt"] == "quart>=0.22,<0.23\npytest\n"


def test_a_configuration_outside_the_paths_given_is_reported_not_edited(tmp_path: Path) -> None:
    project = _project(tmp_path, {"pytest.ini": "[pytest]\nfilterwarnings = error\n"})
    result = port_paths([project / "tests"])
    assert project / "pytest.ini" not in result.ported
    [finding] = result.findings
    assert finding.rule == "project-file"
    assert finding.path == str(project / "pytest.ini")
    assert "asyncio_default_fixture_loop_scope = function" in finding.suggestion


def test_flask_is_replaced_in_the_dependency_list_not_where_it_appears_first(
    tmp_path: Path,
) -> None:
    pyproject = '[project]\nkeywords = ["flask"]\ndependencies = ["flask"]\n'
    project = _project(tmp_path, {"pyproject.toml": pyproject})
    assert port_paths([project]).ported[project / "pyproject.toml"] == (
        '[project]\nkeywords = ["flask"]\ndependencies = ["quart>=0.22,<0.23"]\n'
    )


def test_a_dependency_list_the_port_cannot_edit_line_by_line_is_reported(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "site"\ndependencies = ["fl\\u0061sk"]\n'
    project = _project(tmp_path, {"pyproject.toml": pyproject})
    result = port_paths([project])
    assert project / "pyproject.toml" not in result.ported
    assert [finding.rule for finding in result.findings] == ["project-file"]
