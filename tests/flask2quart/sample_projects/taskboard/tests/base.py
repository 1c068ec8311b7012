"""Shared set-up for the API tests: a fresh app and data folder per test."""

import shutil
import tempfile
import unittest

from taskboard import create_app


class ApiTestCase(unittest.TestCase):
    token = "s3cret-team-token"

    def setUp(self):
        self.data_dir = tempfile.mkdtemp()
        self.app = create_app(
            {"TESTING": True, "DATA_DIR": self.data_dir, "API_TOKENS": [self.token]}
        )
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.client = self.app.test_client()

    def tearDown(self):
        self.ctx.pop()
        shutil.rmtree(self.data_dir)

    def auth_headers(self, token=None):
        return {"Authorization": f"Bearer {token or self.token}"}

    def post_json(self, url, payload):
        return self.client.post(url, json=payload, headers=self.auth_headers())

    def create_task(self, title, **fields):
        return self.post_json("/api/tasks", {"title": title, **fields})
