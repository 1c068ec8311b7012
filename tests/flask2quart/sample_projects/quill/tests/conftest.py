import pytest
from quill import create_app
from quill.db import get_db, init_db

USERS = [
    (
        "ada",
        "pbkdf2:sha256:1000$EKmZPY8NGggLermU$b3252fd817ea4cd40cb12d680e53a1d807f11f0a5313e83156fab3b551458262",
    ),
    (
        "grace",
        "pbkdf2:sha256:1000$c8NQDIrrd4E7vhZO$7ad6d8c5fec3bce3c6ad57971d28b0cc9baba5373227d830cc16462e822cc91e",
    ),
]


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {"TESTING": True, "DATABASE": str(tmp_path / "quill.sqlite"), "SECRET_KEY": "test"}
    )
    with app.app_context():
        init_db()
        db = get_db()
        db.executemany("INSERT INTO user (username, password) VALUES (?, ?)", USERS)
        db.execute(
            "INSERT INTO post (author_id, title, body, created)"
            " VALUES (1, 'Hello from Ada', 'First!', '2024-05-01 09:00:00')"
        )
        db.commit()
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Session:
    """Logs a test user in and out through the forms."""

    def __init__(self, client):
        self._client = client

    def login(self, username="ada", password="ada-pass"):
        return self._client.post("/auth/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.get("/auth/logout")


@pytest.fixture
def auth(client):
    return Session(client)
