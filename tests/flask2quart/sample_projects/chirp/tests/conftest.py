import pytest
from chirp import create_app
from chirp.db import create_tables


@pytest.fixture
def app(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "chirp.db"), "TESTING": True})
    with app.app_context():
        create_tables()
    return app


@pytest.fixture
def client(app):
    return app.test_client()
