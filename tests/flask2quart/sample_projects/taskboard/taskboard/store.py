"""Tasks kept in one JSON file, attachments in a folder per task."""

import json
import os
import threading

_lock = threading.Lock()


class TaskStore:
    """A small file-backed store; good enough for one team."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.path = os.path.join(data_dir, "tasks.json")

    def _load(self):
        if not os.path.exists(self.path):
            return {"next_id": 1, "tasks": {}}
        with open(self.path, encoding="utf-8") as f:
            return json.load(f)

    def _save(self, data):
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(data, f)

    def all(self):
        return sorted(self._load()["tasks"].values(), key=lambda task: task["id"])

    def get(self, task_id):
        return self._load()["tasks"].get(str(task_id))

    def add(self, title, assignee=None):
        with _lock:
            data = self._load()
            task = {
                "id": data["next_id"],
                "title": title,
                "assignee": assignee,
                "done": False,
                "attachments": [],
            }
            data["tasks"][str(task["id"])] = task
            data["next_id"] += 1
            self._save(data)
        return task

    def update(self, task_id, **changes):
        with _lock:
            data = self._load()
            task = data["tasks"][str(task_id)]
            task.update(changes)
            self._save(data)
        return task

    def delete(self, task_id):
        with _lock:
            data = self._load()
            del data["tasks"][str(task_id)]
            self._save(data)

    def attachment_dir(self, task_id):
        folder = os.path.join(self.data_dir, "attachments", str(task_id))
        os.makedirs(folder, exist_ok=True)
        return folder
