"use strict";
// The upload page: files chosen with the picker or dropped on the drop zone each get a row and
// their own request (XHR, for upload progress), a few at a time. The plain form still works
// without this script: it posts every file at once and the server answers with a result page.
(() => {
    const SPEED_WINDOW_MS = 3000;
    // Files up to this size are hashed here first and the digest sent along, so the server checks
    // what it received against what the person chose (422 on a mismatch). Larger files would have
    // to sit in memory whole, since Web Crypto cannot hash a stream; the server's digest stands.
    const LOCAL_HASH_LIMIT = 64 * 1024 * 1024;
    const byteCount = new Intl.NumberFormat("en");
    const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

    function formatBytes(bytes) {
        const units = ["bytes", "kB", "MB", "GB", "TB"];
        let value = bytes;
        let unit = 0;
        while (value >= 1000 && unit < units.length - 1) {
            value /= 1000;
            unit += 1;
        }
        return unit === 0 ? `${byteCount.format(value)} bytes` : `${decimal.format(value)} ${units[unit]}`;
    }

    function formatDuration(seconds) {
        if (!Number.isFinite(seconds)) {
            return "–";
        }
        const whole = Math.max(0, Math.ceil(seconds));
        if (whole < 60) {
            return `${whole} s`;
        }
        const minutes = Math.floor(whole / 60);
        if (minutes < 60) {
            return `${minutes} min ${whole % 60} s`;
        }
        return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
    }

    // The server's own words when it sent them ({"message": ...}), else the HTTP status.
    function serverMessage(xhr) {
        try {
            const body = JSON.parse(xhr.responseText);
            if (body && typeof body.message === "string" && body.message) {
                return body.message;
            }
        } catch {
            // Not JSON: a proxy or the server itself answered before the app did.
        }
        return `The server answered ${xhr.status} ${xhr.statusText}`.trim();
    }

    // Web Crypto exists only in secure contexts (HTTPS, localhost); elsewhere nothing is hashed here.
    function canHashLocally(file) {
        return Boolean(window.crypto && window.crypto.subtle) && file.size <= LOCAL_HASH_LIMIT;
    }

    async function sha256Hex(file) {
        const digest = await window.crypto.subtle.digest("SHA-256", await file.arrayBuffer());
        return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    }

    // Bytes per second over the last few seconds, so the figure follows changes in speed.
    class SpeedMeter {
        constructor() {
            this.samples = [];
        }

        add(loaded) {
            const now = performance.now();
            this.samples.push({ now, loaded });
            while (this.samples.length > 2 && now - this.samples[1].now > SPEED_WINDOW_MS) {
                this.samples.shift();
            }
            const first = this.samples[0];
            const elapsed = (now - first.now) / 1000;
            return elapsed > 0 ? (loaded - first.loaded) / elapsed : NaN;
        }
    }

    class UploadRow {
        constructor(file, queue) {
            this.file = file;
            this.queue = queue;
            this.xhr = null;
            this.meter = new SpeedMeter();
            this.element = queue.template.content.firstElementChild.cloneNode(true);
            this.part = (name) => this.element.querySelector(`.upload-${name}`);
            this.part("name").textContent = file.name;
            this.part("size").textContent = formatBytes(file.size);
            this.part("progress").setAttribute("aria-label", `Upload of ${file.name}`);
            this.part("cancel").setAttribute("aria-label", `Cancel the upload of ${file.name}`);
            this.part("cancel").addEventListener("click", () => this.cancel());
            this.showProgress(0, 1);
            this.setState("queued", "Waiting for a free slot…");
        }

        setState(state, message) {
            this.state = state;
            this.element.dataset.state = state;
            this.part("status").textContent = message;
            this.part("cancel").hidden = !["queued", "hashing", "uploading"].includes(state);
        }

        showProgress(loaded, total) {
            const fraction = total > 0 ? loaded / total : 1;
            const sent = Math.min(this.file.size, Math.round(this.file.size * fraction));
            const percent = Math.floor(fraction * 100);
            const speed = this.meter.add(sent);
            this.part("progress").value = percent;
            this.part("sent").textContent = `${formatBytes(sent)} of ${formatBytes(this.file.size)}`;
            this.part("percent").textContent = `${percent}%`;
            this.part("speed").textContent = Number.isFinite(speed) ? `${formatBytes(speed)}/s` : "–";
            this.part("eta").textContent = `${formatDuration((this.file.size - sent) / speed)} left`;
        }

        async start() {
            this.localSha256 = null;
            if (canHashLocally(this.file)) {
                this.setState("hashing", "Computing the file's SHA-256…");
                try {
                    this.localSha256 = await sha256Hex(this.file);
                } catch {
                    // Unreadable here (moved, permissions): the server will say so, or hash it.
                }
                if (this.state !== "hashing") {
                    return; // Cancelled while hashing.
                }
            }
            this.send();
        }

        send() {
            const form = this.queue.form;
            const body = new FormData();
            // The token goes first, as in the plain form: the server checks it before any file,
            // and a `sha256` field applies to the file part that follows it.
            body.append("csrf_token", this.queue.csrfToken);
            if (this.localSha256) {
                body.append("sha256", this.localSha256);
            }
            body.append(this.queue.field, this.file, this.file.name);
            // Speed counts from the first byte sent, not from the time spent waiting or hashing.
            this.meter = new SpeedMeter();
            const xhr = new XMLHttpRequest();
            this.xhr = xhr;
            xhr.open("POST", form.action);
            xhr.setRequestHeader("Accept", "application/json");
            xhr.setRequestHeader("X-CSRF-Token", this.queue.csrfToken);
            xhr.upload.addEventListener("progress", (event) => {
                if (event.lengthComputable) {
                    this.showProgress(event.loaded, event.total);
                }
            });
            xhr.upload.addEventListener("load", () => {
                this.showProgress(1, 1);
                this.part("eta").textContent = "sent";
                this.setState("processing", "Sent; waiting for the server…");
            });
            xhr.addEventListener("load", () => this.finish());
            xhr.addEventListener("error", () => this.fail("The connection failed before the server answered."));
            xhr.addEventListener("timeout", () => this.fail("The server took too long to answer."));
            xhr.addEventListener("abort", () => this.queue.settled(this));
            this.setState("uploading", "Uploading…");
            xhr.send(body);
        }

        finish() {
            const xhr = this.xhr;
            if (xhr.status !== 201) {
                this.fail(serverMessage(xhr));
                return;
            }
            let stored;
            try {
                [stored] = JSON.parse(xhr.responseText).files;
            } catch {
                this.fail("The server's answer could not be read.");
                return;
            }
            this.showProgress(1, 1);
            this.part("eta").textContent = "done";
            this.part("result-name").textContent = stored.name;
            this.part("result-size").textContent = `${formatBytes(stored.size)} (${byteCount.format(stored.size)} bytes)`;
            this.part("result-sha256").textContent = stored.sha256;
            if (stored.url) {
                this.part("result-link").href = stored.url;
                this.part("result-link").setAttribute("aria-label", `Download ${stored.name}`);
                this.part("result-download").hidden = false;
            }
            this.part("result").hidden = false;
            const verified = this.localSha256 === stored.sha256;
            this.setState("done", verified ? "Stored; its SHA-256 matches your file." : "Stored.");
            this.queue.settled(this);
        }

        fail(message) {
            this.part("eta").textContent = "";
            this.setState("failed", message);
            this.queue.settled(this);
        }

        cancel() {
            if (this.state === "queued" || this.state === "hashing") {
                this.setState("cancelled", "Cancelled before it started.");
                this.queue.settled(this);
            } else if (this.state === "uploading") {
                // abort() fires the "abort" event, which frees the slot.
                this.setState("cancelled", "Cancelled; nothing was stored.");
                this.xhr.abort();
            }
        }
    }

    class UploadQueue {
        constructor(form) {
            this.form = form;
            this.field = form.dataset.field;
            this.csrfToken = form.elements.namedItem("csrf_token").value;
            this.parallel = Math.max(1, Number.parseInt(form.dataset.parallel, 10) || 1);
            this.template = document.getElementById("upload-row-template");
            this.section = document.getElementById("upload-queue");
            this.list = document.getElementById("upload-rows");
            this.summary = document.getElementById("upload-summary");
            this.rows = [];
            this.waiting = [];
            this.active = new Set();
        }

        add(files) {
            for (const file of files) {
                const row = new UploadRow(file, this);
                this.rows.push(row);
                this.waiting.push(row);
                this.list.append(row.element);
            }
            this.section.hidden = false;
            this.pump();
        }

        pump() {
            while (this.active.size < this.parallel && this.waiting.length > 0) {
                const row = this.waiting.shift();
                if (row.state === "queued") {
                    this.active.add(row);
                    row.start();
                }
            }
            this.summarise();
        }

        settled(row) {
            this.active.delete(row);
            this.waiting = this.waiting.filter((waiting) => waiting !== row);
            this.pump();
        }

        get busy() {
            return this.active.size > 0 || this.waiting.length > 0;
        }

        summarise() {
            const count = (state) => this.rows.filter((row) => row.state === state).length;
            const parts = [`${count("done")} of ${this.rows.length} stored`];
            for (const [state, label] of [["failed", "failed"], ["cancelled", "cancelled"]]) {
                if (count(state) > 0) {
                    parts.push(`${count(state)} ${label}`);
                }
            }
            if (this.busy) {
                parts.push(`${this.active.size} uploading, ${this.waiting.length} waiting`);
            }
            this.summary.textContent = parts.join(" · ");
            this.section.dataset.busy = String(this.busy);
        }
    }

    function enhance(form) {
        const queue = new UploadQueue(form);
        const input = document.getElementById(form.dataset.field);
        const zone = document.getElementById("drop-zone");
        form.classList.add("js-enhanced");

        input.addEventListener("change", () => {
            queue.add([...input.files]);
            // Cleared so that choosing the same file again starts another upload.
            input.value = "";
        });
        form.addEventListener("submit", (event) => {
            event.preventDefault();
            queue.add([...input.files]);
            input.value = "";
        });

        let depth = 0;
        zone.addEventListener("dragenter", (event) => {
            event.preventDefault();
            depth += 1;
            zone.classList.add("drag-over");
        });
        zone.addEventListener("dragleave", () => {
            depth = Math.max(0, depth - 1);
            if (depth === 0) {
                zone.classList.remove("drag-over");
            }
        });
        zone.addEventListener("dragover", (event) => {
            event.preventDefault();
            event.dataTransfer.dropEffect = "copy";
        });
        zone.addEventListener("drop", (event) => {
            event.preventDefault();
            depth = 0;
            zone.classList.remove("drag-over");
            queue.add([...event.dataTransfer.files]);
        });
        // A file dropped beside the zone must not replace the page with the file's contents.
        for (const type of ["dragover", "drop"]) {
            window.addEventListener(type, (event) => {
                if (!zone.contains(event.target)) {
                    event.preventDefault();
                }
            });
        }
        window.addEventListener("beforeunload", (event) => {
            if (queue.busy) {
                event.preventDefault();
            }
        });
    }

    document.addEventListener("DOMContentLoaded", () => {
        const form = document.getElementById("upload-form");
        if (form) {
            enhance(form);
        }
    });
})();
