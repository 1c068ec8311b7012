import pytest
from flask import g, session
from quill.db import get_db


def test_register_creates_the_account(client, app):
    assert client.get("/auth/register").status_code == 200

    response = client.post("/auth/register", data={"username": "linus", "password": "penguin"})

    assert response.headers["Location"] == "/auth/login"
    with app.app_context():
        user = get_db().execute("SELECT * FROM user WHERE username = 'linus'").fetchone()
        assert user is not None


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", "penguin", "A username is required."),
        ("linus", "abc", "The password needs at least 4 characters."),
        ("ada", "whatever", "The name ada is taken."),
    ],
)
def test_register_explains_what_is_wrong(client, username, password, message):
    response = client.post("/auth/register", data={"username": username, "password": password})

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_the_author_is_known_on_later_requests(client, login):
    response = login()
    assert response.headers["Location"] == "/"

    with client:
        client.get("/about")
        assert session["author_id"] == 1
        assert g.user["username"] == "ada"


def test_login_goes_back_to_the_page_asked_for(client):
    response = client.post(
        "/auth/login?next=/create", data={"username": "grace", "password": "grace-pass"}
    )

    assert response.headers["Location"] == "/create"


def test_wrong_password_is_refused(login):
    response = login(password="nope")

    assert b"Wrong username or password." in response.data


def test_logout_forgets_the_author(client, login):
    login()

    with client:
        client.get("/auth/logout")
        assert "author_id" not in session
