import unittest

from flask import current_app
from taskboard.store import TaskStore

from tests.base import ApiTestCase


class TaskApiTests(ApiTestCase):
    def test_create_returns_the_new_task(self):
        rv = self.create_task("Write the release notes", assignee="kim")

        self.assertEqual(rv.status_code, 201)
        task = rv.get_json()
        self.assertEqual(task["title"], "Write the release notes")
        self.assertEqual(task["assignee"], "kim")
        self.assertFalse(task["done"])

    def test_created_tasks_are_stored(self):
        self.create_task("One")
        self.create_task("Two")

        store = TaskStore(current_app.config["DATA_DIR"])
        self.assertEqual([task["title"] for task in store.all()], ["One", "Two"])

    def test_a_title_is_required(self):
        rv = self.create_task("   ")

        self.assertEqual(rv.status_code, 400)
        self.assertEqual(rv.get_json()["message"], "A task needs a title.")

    def test_list_filters_on_done(self):
        first = self.create_task("First").get_json()
        self.create_task("Second")
        self.client.patch(
            f"/api/tasks/{first['id']}", json={"done": True}, headers=self.auth_headers()
        )

        rv = self.client.get("/api/tasks?done=true", headers=self.auth_headers())

        self.assertEqual([task["title"] for task in rv.json["tasks"]], ["First"])

    def test_update_changes_only_the_given_fields(self):
        task = self.create_task("Draft", assignee="kim").get_json()

        rv = self.client.patch(
            f"/api/tasks/{task['id']}", json={"title": "Final"}, headers=self.auth_headers()
        )

        self.assertEqual(rv.get_json()["title"], "Final")
        self.assertEqual(rv.get_json()["assignee"], "kim")

    def test_delete_then_404(self):
        task = self.create_task("Short-lived").get_json()
        url = f"/api/tasks/{task['id']}"

        self.assertEqual(self.client.delete(url, headers=self.auth_headers()).status_code, 204)
        rv = self.client.get(url, headers=self.auth_headers())

        self.assertEqual(rv.status_code, 404)
        self.assertEqual(rv.get_json()["error"], "Not Found")


class TokenTests(ApiTestCase):
    def test_missing_token_is_401(self):
        rv = self.client.get("/api/tasks")

        self.assertEqual(rv.status_code, 401)
        self.assertIn("Unauthorized", rv.get_data(as_text=True))

    def test_wrong_token_is_401(self):
        rv = self.client.get("/api/tasks", headers=self.auth_headers("guess"))

        self.assertEqual(rv.status_code, 401)


if __name__ == "__main__":
    unittest.main()
