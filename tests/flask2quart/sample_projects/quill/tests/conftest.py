import pytest
from quill import create_app
from quill.db import get_db, init_db

# Password hashes of "ada-pass" and "grace-pass".
AUTHORS = {
    "ada": (
        "pbkdf2:sha256:1000$EKmZPY8NGggLermU$"
        "b3252fd817ea4cd40cb12d680e53a1d807f11f0a5313e83156fab3b551458262"
    ),
    "grace": (
        "pbkdf2:sha256:1000$c8NQDIrrd4E7vhZO$"
        "7ad6d8c5fec3bce3c6ad57971d28b0cc9baba5373227d830cc16462e822cc91e"
    ),
}


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {"TESTING": True, "DATABASE": str(tmp_path / "quill.sqlite"), "SECRET_KEY": "test"}
    )
    with app.app_context():
        init_db()
        db = get_db()
        db.executemany("INSERT INTO user (username, password) VALUES (?, ?)", AUTHORS.items())
        db.execute(
            "INSERT INTO post (author_id, title, body, created)"
            " VALUES (1, 'Hello from Ada', 'First!', '2024-05-01 09:00:00')"
        )
        db.commit()
    return app


@pytest.fixture
def cli(app):
    """Runs the app's commands as `flask ...` would."""
    return app.test_cli_runner()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    """Log in through the form; each author's password is their name plus "-pass"."""

    def log_in(username="ada", password=None):
        form = {"username": username, "password": password or f"{username}-pass"}
        return client.post("/auth/login", data=form)

    return log_in
