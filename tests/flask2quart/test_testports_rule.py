from __future__ import annotations

from pathlib import Path

import pytest

from .porting import dedent, port_files, port_one, ported, rules


def test_client_calls_and_response_bodies_are_awaited(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        def test_pages(client):
            response = client.get("/")  # home
            assert response.status_code == 200
            assert b"Hello" in response.data
            assert response.json == {"ok": True}
            assert response.get_json()["ok"]
            assert "Hello" in response.get_data(as_text=True)
            assert "Hello" in response.text
            assert client.get("/about").status_code == 200
            assert b"x" in client.post("/x").data
        """,
        name="test_pages.py",
    )
    assert text == dedent(
        """\
        async def test_pages(client):
            response = await client.get("/")  # home
            assert response.status_code == 200
            assert b"Hello" in await response.data
            assert await response.json == {"ok": True}
            assert (await response.get_json())["ok"]
            assert "Hello" in await response.get_data(as_text=True)
            assert "Hello" in await response.get_data(as_text=True)
            assert (await client.get("/about")).status_code == 200
            assert b"x" in await (await client.post("/x")).data
        """
    )


def test_request_arguments_take_quarts_names(tmp_path: Path) -> None:
    text, findings = port_one(
        tmp_path,
        """\
        import io
        import json


        def test_posts(client, payload):
            client.post("/form", data={"name": "x"})
            client.post("/raw", data=b"bytes")
            client.post("/text", data="text")
            client.post("/json", json={"a": 1})
            client.post("/dumped", data=json.dumps({"a": 1}), content_type="application/json")
            client.post("/dict", data=dict(name="x"))
            client.post(
                "/upload",
                data={"title": "t", "file": (io.BytesIO(b"abc"), "a.txt")},
                content_type="multipart/form-data",
            )
            client.post("/unknown", data=payload)
        """,
        name="test_posts.py",
    )
    assert 'await client.post("/form", form={"name": "x"})' in text
    assert 'await client.post("/raw", data=b"bytes")' in text
    assert 'await client.post("/text", data="text")' in text
    assert 'await client.post("/json", json={"a": 1})' in text
    assert (
        'await client.post("/dumped", data=json.dumps({"a": 1}), '
        'headers={"Content-Type": "application/json"})'
    ) in text
    assert 'await client.post("/dict", form=dict(name="x"))' in text
    assert (
        'files={"file": FileStorage(io.BytesIO(b"abc"), filename="a.txt")}, form={"title": "t"}'
    ) in text
    assert "multipart/form-data" not in text
    assert "from quart.datastructures import FileStorage" in text
    assert 'await client.post("/unknown", data=payload)' in text
    assert rules(findings) == ["client-argument"]


def test_upload_helpers_return_file_storages(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        import io


        def upload(name):
            return {"doc": (io.BytesIO(b"x"), name)}


        def test_upload(client):
            client.post("/up", data=upload("a.txt"))
            client.post("/up", data={"csrf": "t", **upload("b.txt")})
        """,
        name="test_upload.py",
    )
    assert 'return {"doc": FileStorage(io.BytesIO(b"x"), filename=name)}' in text
    assert 'await client.post("/up", files=upload("a.txt"))' in text
    assert 'await client.post("/up", files={**upload("b.txt")}, form={"csrf": "t"})' in text


def test_fixtures_and_contexts_in_strict_mode(tmp_path: Path) -> None:
    result = port_files(
        tmp_path,
        {
            "conftest.py": """\
                import pytest

                from app import create_app, init_db


                @pytest.fixture
                def app():
                    app = create_app()
                    with app.app_context():
                        init_db()
                    yield app


                @pytest.fixture
                def client(app):
                    return app.test_client()
                """,
            "app.py": """\
                from flask import Flask, flash


                def create_app():
                    return Flask(__name__)


                def init_db():
                    flash("ready")
                """,
            "test_app.py": """\
                from flask import session


                def test_session(client):
                    with client.session_transaction() as sess:
                        sess["user"] = 1
                    with client:
                        client.get("/")
                        assert session["user"] == 1


                def test_plain():
                    assert True
                """,
        },
        asyncio_mode="strict",
    )
    conftest = ported(tmp_path, result, "conftest.py")
    assert "import pytest_asyncio\n" in conftest
    assert "@pytest_asyncio.fixture\nasync def app():" in conftest
    assert "    async with app.app_context():\n        await init_db()" in conftest
    assert "@pytest.fixture\ndef client(app):\n    return app.test_client()" in conftest
    tests = ported(tmp_path, result, "test_app.py")
    assert "@pytest.mark.asyncio\nasync def test_session(client):" in tests
    assert "    async with client.session_transaction() as sess:" in tests
    assert "    async with client:\n        await client.get" in tests
    assert "def test_plain():" in tests and "mark.asyncio\ndef test_plain" not in tests
    assert "import pytest\n" in tests


def test_auto_mode_adds_no_marks(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        "def test_home(client):\n    client.get('/')\n",
        name="test_home.py",
        asyncio_mode="auto",
    )
    assert text == "async def test_home(client):\n    await client.get('/')\n"


def test_helper_classes_around_the_client(tmp_path: Path) -> None:
    result = port_files(
        tmp_path,
        {
            "conftest.py": """\
                import pytest


                class AuthActions:
                    def __init__(self, client):
                        self._client = client

                    def login(self):
                        return self._client.post("/login", data={"user": "a"})


                @pytest.fixture
                def auth(client):
                    return AuthActions(client)
                """,
            "test_auth.py": """\
                def test_login(auth):
                    response = auth.login()
                    assert b"hi" in response.data
                """,
        },
    )
    conftest = ported(tmp_path, result, "conftest.py")
    assert "    async def login(self):\n        return await self._client.post(" in conftest
    assert '"/login", form={"user": "a"})' in conftest
    assert ported(tmp_path, result, "test_auth.py") == dedent(
        """\
        async def test_login(auth):
            response = await auth.login()
            assert b"hi" in await response.data
        """
    )


def test_cookies_and_response_context_managers(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        def test_cookies(client):
            client.set_cookie("name", "value")
            client.set_cookie("flag")
            client.set_cookie("k", "v", domain="example.com")
            client.delete_cookie("name")
            # static files stream from disk
            with client.get("/static/a.js") as script:
                assert script.status_code == 200
        """,
        name="test_cookies.py",
    )
    assert text == dedent(
        """\
        async def test_cookies(client):
            client.set_cookie("localhost", "name", "value")
            client.set_cookie("localhost", "flag", "")
            client.set_cookie("example.com", "k", "v")
            client.delete_cookie("localhost", "name")
            # static files stream from disk
            script = await client.get("/static/a.js")
            assert script.status_code == 200
        """
    )


def test_flask_only_client_and_response_features_are_reported(tmp_path: Path) -> None:
    _, findings = port_one(
        tmp_path,
        """\
        def test_redirects(client):
            response = client.get("/", follow_redirects=True, environ_base={"x": "y"})
            assert response.request.path == "/"
        """,
        name="test_redirects.py",
    )
    assert rules(findings) == ["client-argument", "response-attribute"]


def test_a_chained_text_is_awaited_once_per_awaitable(tmp_path: Path) -> None:
    source = """\
        def test_page(client):
            assert "hi" in client.get("/x").text
        """
    text, _ = port_one(tmp_path, source, name="test_page.py")
    assert text == dedent(
        """\
        async def test_page(client):
            assert "hi" in await (await client.get("/x")).get_data(as_text=True)
        """
    )
    again, _ = port_one(tmp_path, text, name="test_page.py")
    assert again == text


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("with client:", "async with client, client.app.app_context():"),
        (
            "with app.test_client() as c:",
            "async with app.test_client() as c, c.app.app_context():",
        ),
    ],
)
def test_g_after_a_request_in_with_client_keeps_an_app_context(
    tmp_path: Path, before: str, after: str
) -> None:
    client = "c" if " as c" in before else "client"
    text, _ = port_one(
        tmp_path,
        f"""\
        from flask import g, session


        def test_user(app, client):
            {before}
                {client}.get("/")
                assert session["user_id"] == 1
                assert g.user["username"] == "test"
        """,
        name="test_user.py",
    )
    assert f"    {after}\n        await {client}.get" in text


def test_with_client_without_g_needs_no_app_context(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import session


        def test_user(client):
            with client:
                client.get("/")
                assert session["user_id"] == 1
        """,
        name="test_user.py",
    )
    assert "    async with client:\n" in text


def test_a_response_through_two_helpers_is_awaited(tmp_path: Path) -> None:
    result = port_files(
        tmp_path,
        {
            "tests/helpers.py": """\
            def login(client, name):
                return client.post("/login", data={"name": name})


            def register_and_login(client, name):
                client.post("/register", data={"name": name})
                return login(client, name)
            """,
            "tests/test_login.py": """\
            from helpers import register_and_login


            def test_login(client):
                rv = register_and_login(client, "ada")
                assert b"Welcome" in rv.data
            """,
        },
    )
    assert ported(tmp_path, result, "tests/test_login.py").endswith(
        dedent(
            """\
            async def test_login(client):
                rv = await register_and_login(client, "ada")
                assert b"Welcome" in await rv.data
            """
        )
    )
    assert "    return await login(client, name)\n" in ported(tmp_path, result, "tests/helpers.py")


def test_several_files_under_one_name_are_sent_as_an_encoded_body(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        import io


        def test_upload(client, auth_headers):
            client.post(
                "/photos",
                data={"album": "trip", "photos": [(io.BytesIO(b"a"), "a.png")]},
                headers=auth_headers,
                content_type="multipart/form-data",
            )
        """,
        name="test_upload.py",
    )
    files = '{"album": "trip", "photos": [FileStorage(io.BytesIO(b"a"), filename="a.png")]}'
    body = f'encode_multipart({files}, boundary="flask2quart")[1]'
    content_type = "multipart/form-data; boundary=flask2quart"
    assert text == dedent(
        f"""\
        import io

        from quart.datastructures import FileStorage
        from werkzeug.test import encode_multipart


        async def test_upload(client, auth_headers):
            await client.post(
                "/photos",
                data={body},
                headers={{**auth_headers, "Content-Type": "{content_type}"}},
            )
        """
    )


def test_several_values_under_one_form_field_are_url_encoded(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        def test_tags(client):
            client.post("/tags", data={"tag": ["a", "b"]}, headers={"X-Token": "t"})
        """,
        name="test_tags.py",
    )
    body = 'urlencode({"tag": ["a", "b"]}, doseq=True)'
    headers = '{"X-Token": "t", "Content-Type": "application/x-www-form-urlencoded"}'
    assert text == dedent(
        f"""\
        from urllib.parse import urlencode


        async def test_tags(client):
            await client.post("/tags", data={body}, headers={headers})
        """
    )


def test_a_fixture_that_returns_a_helper_function_has_its_calls_awaited(tmp_path: Path) -> None:
    result = port_files(
        tmp_path,
        {
            "conftest.py": """\
            import pytest


            @pytest.fixture
            def login(client):
                def log_in(name="ada"):
                    return client.post("/login", data={"name": name})

                return log_in
            """,
            "test_login.py": """\
            def test_login(login):
                assert b"Hello" in login("grace").data
            """,
        },
    )
    assert '    async def log_in(name="ada"):\n        return await client.post' in ported(
        tmp_path, result, "conftest.py"
    )
    assert ported(tmp_path, result, "test_login.py") == dedent(
        """\
        async def test_login(login):
            assert b"Hello" in await (await login("grace")).data
        """
    )
