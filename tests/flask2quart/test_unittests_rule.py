from __future__ import annotations

from pathlib import Path

import pytest

from .porting import dedent, port_files, port_one, ported


def test_a_test_case_with_async_tests_runs_them_on_isolated_asyncio_test_case(
    tmp_path: Path,
) -> None:
    text, findings = port_one(
        tmp_path,
        """\
        import unittest

        from flask import Flask

        app = Flask(__name__)


        class PageTests(unittest.TestCase):
            def setUp(self):
                self.client = app.test_client()

            def test_home(self):
                rv = self.client.get("/")
                self.assertEqual(rv.status_code, 200)

            def test_sum(self):
                self.assertEqual(1 + 1, 2)
        """,
        name="test_pages.py",
        asyncio_mode="strict",
    )
    assert text == dedent(
        """\
        import unittest

        from quart import Quart

        app = Quart(__name__)


        class PageTests(unittest.IsolatedAsyncioTestCase):
            def setUp(self):
                self.client = app.test_client()

            async def test_home(self):
                rv = await self.client.get("/")
                self.assertEqual(rv.status_code, 200)

            def test_sum(self):
                self.assertEqual(1 + 1, 2)
        """
    )
    assert findings == []


def test_set_up_that_awaits_becomes_async_set_up(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from unittest import TestCase

        from flask import Flask


        class ApiTestCase(TestCase):
            def setUp(self):
                self.app = Flask(__name__)
                self.ctx = self.app.app_context()
                self.ctx.push()
                self.client = self.app.test_client()

            def tearDown(self):
                self.ctx.pop()
        """,
        name="test_api.py",
    )
    assert text == dedent(
        """\
        from unittest import IsolatedAsyncioTestCase, TestCase

        from quart import Quart


        class ApiTestCase(IsolatedAsyncioTestCase):
            async def asyncSetUp(self):
                self.app = Quart(__name__)
                self.ctx = self.app.app_context()
                await self.ctx.push()
                self.client = self.app.test_client()

            async def asyncTearDown(self):
                await self.ctx.pop()
        """
    )


def test_a_base_case_in_another_file_changes_for_its_subclasses(tmp_path: Path) -> None:
    result = port_files(
        tmp_path,
        {
            "tests/__init__.py": "",
            "tests/base.py": """\
            import unittest


            class Base(unittest.TestCase):
                def setUp(self):
                    from flask import Flask

                    self.app = Flask(__name__).test_client()

                def login(self):
                    return self.app.post("/login", data={"user": "a"})
            """,
            "tests/test_login.py": """\
            from tests.base import Base


            class LoginTests(Base):
                def setUp(self):
                    super().setUp()
                    self.user = "a"

                def test_login(self):
                    rv = self.login()
                    assert b"welcome" in rv.data
            """,
        },
    )
    assert ported(tmp_path, result, "tests/base.py").endswith(
        dedent(
            """\
            class Base(unittest.IsolatedAsyncioTestCase):
                def setUp(self):
                    from quart import Quart

                    self.app = Quart(__name__).test_client()

                async def login(self):
                    return await self.app.post("/login", form={"user": "a"})
            """
        )
    )
    assert ported(tmp_path, result, "tests/test_login.py").endswith(
        dedent(
            """\
            class LoginTests(Base):
                def setUp(self):
                    super().setUp()
                    self.user = "a"

                async def test_login(self):
                    rv = await self.login()
                    assert b"welcome" in await rv.data
            """
        )
    )


def test_a_subclass_set_up_runs_after_a_base_set_up_that_became_async(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        import unittest

        from flask import Flask


        class Base(unittest.TestCase):
            def setUp(self):
                self.ctx = Flask(__name__).app_context()
                self.ctx.push()


        class Child(Base):
            def setUp(self):
                super().setUp()
                self.name = "child"
        """,
        name="test_child.py",
    )
    assert text.endswith(
        dedent(
            """\
            class Child(Base):
                async def asyncSetUp(self):
                    await super().asyncSetUp()
                    self.name = "child"
            """
        )
    )


def test_class_fixtures_cannot_await_and_are_reported(tmp_path: Path) -> None:
    text, findings = port_one(
        tmp_path,
        """\
        import unittest

        from flask import Flask

        app = Flask(__name__)


        class Tests(unittest.TestCase):
            @classmethod
            def setUpClass(cls):
                cls.ctx = app.app_context()
                cls.ctx.push()
        """,
        name="test_class.py",
    )
    assert "    def setUpClass(cls):\n" in text
    [finding] = findings
    assert finding.rule == "sync-caller"
    assert "unittest calls `setUpClass` synchronously" in finding.message


@pytest.mark.parametrize("base", ["flask_testing.TestCase", "SomeoneElsesCase"])
def test_async_tests_on_a_foreign_base_class_are_reported(tmp_path: Path, base: str) -> None:
    _, findings = port_one(
        tmp_path,
        f"""\
        import flask_testing
        from other import SomeoneElsesCase


        class Tests({base}):
            def test_home(self):
                assert self.client.get("/").status_code == 200
        """,
        name="test_foreign.py",
    )
    assert "unittest-async" in {finding.rule for finding in findings}
