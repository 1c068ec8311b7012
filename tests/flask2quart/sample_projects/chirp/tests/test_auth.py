import pytest
from flask import g, session
from helpers import sign_in, sign_out, sign_up, sign_up_and_in


def test_sign_up(client):
    assert b"Welcome aboard!" in sign_up(client, "robin", "pw").data
    assert b"Someone already has that username" in sign_up(client, "robin", "pw").data


@pytest.mark.parametrize(
    ("username", "password", "password2", "email", "message"),
    [
        ("", "pw", None, None, b"Pick a username"),
        ("sam", "", None, None, b"The passwords are empty or differ"),
        ("sam", "pw", "other", None, b"The passwords are empty or differ"),
        ("sam", "pw", None, "nowhere", b"does not look right"),
    ],
)
def test_sign_up_rejects(client, username, password, password2, email, message):
    assert message in sign_up(client, username, password, password2, email).data


def test_sign_in_and_out(client):
    response = sign_up_and_in(client, "robin")
    assert b"Signed in." in response.data

    assert b"Signed out." in sign_out(client).data
    assert b"Wrong password" in sign_in(client, "robin", "guess").data
    assert b"Unknown username" in sign_in(client, "nobody", "guess").data


def test_sign_in_returns_to_the_page_asked_for(client):
    sign_up(client, "robin", "pw")

    response = client.post("/login?next=/robin", data={"username": "robin", "password": "pw"})

    assert response.headers["Location"] == "/robin"


def test_the_user_is_loaded_for_each_request(app):
    with app.test_client() as c:
        sign_up_and_in(c, "robin")
        c.get("/public")
        assert session["user_id"] == 1
        assert g.user["username"] == "robin"
