import io
import unittest

from tests.base import ApiTestCase


class AttachmentTests(ApiTestCase):
    def setUp(self):
        super().setUp()
        self.task = self.create_task("Review the spec").get_json()
        self.url = f"/api/tasks/{self.task['id']}/attachments"

    def test_several_files_in_one_field(self):
        rv = self.client.post(
            self.url,
            data={
                "files": [
                    (io.BytesIO(b"first draft"), "notes.txt"),
                    (io.BytesIO(b"%PDF-1.4 spec"), "spec.pdf", "application/pdf"),
                ]
            },
            headers=self.auth_headers(),
        )

        self.assertEqual(rv.status_code, 201)
        self.assertEqual(rv.get_json()["attachments"], ["notes.txt", "spec.pdf"])

    def test_a_single_file(self):
        rv = self.client.post(
            self.url,
            data={"files": (io.BytesIO(b"one"), "one.txt")},
            headers=self.auth_headers(),
        )

        self.assertEqual(rv.get_json()["attachments"], ["one.txt"])

    def test_no_files_is_400(self):
        rv = self.client.post(self.url, data={"comment": "nothing"}, headers=self.auth_headers())

        self.assertEqual(rv.status_code, 400)

    def test_download_under_a_task_specific_name(self):
        self.client.post(
            self.url,
            data={"files": [(io.BytesIO(b"first draft"), "notes.txt")]},
            headers=self.auth_headers(),
        )

        rv = self.client.get(f"{self.url}/notes.txt", headers=self.auth_headers())

        self.assertEqual(rv.data, b"first draft")
        self.assertEqual(
            rv.headers["Content-Disposition"], "attachment; filename=task-1-notes.txt"
        )

    def test_unknown_attachment_is_404(self):
        rv = self.client.get(f"{self.url}/missing.txt", headers=self.auth_headers())

        self.assertEqual(rv.status_code, 404)


if __name__ == "__main__":
    unittest.main()
