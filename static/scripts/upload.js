"use strict";
// The upload page: files chosen with the picker or dropped on the drop zone each get a row and
// are sent a few at a time. Where the page names a tus endpoint and tus-js-client (vendored, see
// static/vendor/tus-js-client/) can run, each file is a resumable tus upload: sent in chunks,
// retried and resumed after a dropped connection or a server restart, and offered for resuming
// after a reload. Otherwise each file is one multipart POST to the form's action (XHR, for upload
// progress). The plain form still works without this script: it posts every file at once and the
// server answers with a result page.
(() => {
    const SPEED_WINDOW_MS = 3000;
    // Chunks of a few MiB: a dropped connection costs at most one chunk's worth of resending.
    const TUS_CHUNK_SIZE = 4 * 1024 * 1024;
    // Waits (ms) before each new attempt once a request fails: about a minute in all, long enough
    // to outlast a server restart or a phone changing cells. A chunk that gets through resets them.
    const TUS_RETRY_DELAYS = [0, 1000, 2000, 3000, 5000, 5000, 10000, 10000, 15000];
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
    function serverMessage(body, status, statusText = "") {
        try {
            const answer = JSON.parse(body);
            if (answer && typeof answer.message === "string" && answer.message) {
                return answer.message;
            }
        } catch {
            // Not JSON: a proxy or the server itself answered before the app did.
        }
        return `The server answered ${status} ${statusText}`.trim();
    }

    // What to tell the person when tus-js-client gives up (retries used up, or a refusal).
    function tusFailure(error) {
        const response = error.originalResponse;
        if (!response) {
            return "The connection failed and could not be resumed; choose the file again to resume it.";
        }
        return serverMessage(response.getBody(), response.getStatus());
    }

    // tus-js-client's own rule (retry unless the server refused: a 4xx other than 409 offset
    // mismatch or 423 locked), kept here so the row can say that it is reconnecting; a full
    // quota or disk (507) is a refusal too, which a minute of retries would not change.
    function worthRetrying(error) {
        const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        const refused =
            (status >= 400 && status < 500 && status !== 409 && status !== 423) || status === 501 || status === 507;
        return !refused && navigator.onLine !== false;
    }

    // The stored file a finished tus upload became: the last PATCH names its download URL in
    // Content-Location, whose HEAD gives its size and, as the ETag, its SHA-256.
    async function storedFileAt(location) {
        const url = new URL(location, document.baseURI);
        const answer = await fetch(url, { method: "HEAD", cache: "no-store" });
        // Read to its (empty) end, so the request is over before the page may be left.
        await answer.arrayBuffer();
        if (!answer.ok) {
            throw new Error(`HEAD ${url.pathname} answered ${answer.status}`);
        }
        return {
            name: decodeURIComponent(url.pathname.split("/").pop()),
            size: Number(answer.headers.get("Content-Length")),
            sha256: (answer.headers.get("ETag") || "").replace(/^W\//, "").replaceAll('"', ""),
            url: url.pathname,
        };
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
            // After a resume the server may hold less than was sent: count from there afresh.
            if (this.samples.length > 0 && loaded < this.samples[this.samples.length - 1].loaded) {
                this.samples = [];
            }
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
        constructor(file, queue, previous = null) {
            this.file = file;
            this.queue = queue;
            // An unfinished tus upload of this file, from tus's storage, to resume rather than
            // start again.
            this.previous = previous;
            this.xhr = null;
            this.tusUpload = null;
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
            if (this.queue.tus) {
                await this.sendWithTus();
            } else {
                this.send();
            }
        }

        async sendWithTus() {
            const tus = this.queue.tus;
            const metadata = { filename: this.file.name };
            if (this.file.type) {
                metadata.filetype = this.file.type;
            }
            if (this.localSha256) {
                metadata.sha256 = this.localSha256;
            }
            const upload = new tus.Upload(this.file, {
                endpoint: this.queue.tusEndpoint,
                chunkSize: TUS_CHUNK_SIZE,
                retryDelays: TUS_RETRY_DELAYS,
                storeFingerprintForResuming: true,
                removeFingerprintOnSuccess: true,
                metadata,
                headers: this.queue.tusHeaders,
                onProgress: (sent, total) => this.tusProgress(sent, total),
                onChunkComplete: () => {
                    if (this.state === "uploading") {
                        this.part("status").textContent = "Uploading…";
                    }
                },
                onShouldRetry: (error) => {
                    const retrying = worthRetrying(error);
                    if (retrying && ["uploading", "processing"].includes(this.state)) {
                        this.setState("uploading", "The connection dropped; reconnecting to resume…");
                    }
                    return retrying;
                },
                onSuccess: ({ lastResponse }) => this.finishTus(lastResponse),
                onError: (error) => this.fail(tusFailure(error)),
            });
            this.tusUpload = upload;
            let previous = this.previous;
            if (!previous) {
                try {
                    [previous] = await upload.findPreviousUploads();
                } catch {
                    // No storage to read (private mode, quota): the file is sent from the start.
                }
            }
            if (this.state !== "hashing" && this.state !== "queued") {
                return; // Cancelled while looking.
            }
            this.meter = new SpeedMeter();
            if (previous) {
                upload.resumeFromPreviousUpload(previous);
                this.queue.forgetUnfinished(previous);
                this.setState("uploading", "Resuming where it stopped…");
            } else {
                this.setState("uploading", "Uploading…");
            }
            upload.start();
        }

        tusProgress(sent, total) {
            this.showProgress(sent, total);
            if (sent === total && this.state === "uploading") {
                this.part("eta").textContent = "sent";
                this.setState("processing", "Sent; waiting for the server…");
            }
        }

        async finishTus(lastResponse) {
            const location = lastResponse.getHeader("Content-Location");
            if (!location) {
                this.fail("The upload finished, but the server did not say where it was stored.");
                return;
            }
            try {
                this.showStored(await storedFileAt(location));
            } catch {
                this.fail("The upload finished, but the stored file could not be looked up.");
            }
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
                this.fail(serverMessage(xhr.responseText, xhr.status, xhr.statusText));
                return;
            }
            let stored;
            try {
                [stored] = JSON.parse(xhr.responseText).files;
            } catch {
                this.fail("The server's answer could not be read.");
                return;
            }
            this.showStored(stored);
        }

        showStored(stored) {
            this.showProgress(1, 1);
            // A rate means nothing once the file is stored (and would differ from run to run).
            this.part("speed").textContent = "";
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
            } else if (this.tusUpload && ["uploading", "processing"].includes(this.state)) {
                this.setState("cancelled", "Cancelled; nothing was stored.");
                this.queue.settled(this);
                // Terminated on the server too (DELETE), which frees its space at once.
                this.tusUpload.abort(true).catch(() => {
                    this.part("status").textContent =
                        "Cancelled; the server could not be told, and drops the unfinished upload when it expires.";
                });
            } else if (this.state === "uploading") {
                // abort() fires the "abort" event, which frees the slot.
                this.setState("cancelled", "Cancelled; nothing was stored.");
                this.xhr.abort();
            }
        }
    }

    // Unfinished tus uploads that this browser remembers (from an earlier visit, or a page that
    // was reloaded), each with a Resume button: browsers give a page no file it did not get from
    // the person, so Resume asks for the same file again and checks its name, size and type.
    class UnfinishedUploads {
        constructor(queue) {
            this.queue = queue;
            this.section = document.getElementById("upload-unfinished");
            this.list = document.getElementById("upload-unfinished-rows");
            this.template = document.getElementById("upload-unfinished-template");
            this.picker = document.getElementById("upload-unfinished-picker");
            this.items = new Map();
            this.picker.addEventListener("change", () => {
                const [file] = this.picker.files;
                this.picker.value = "";
                if (file && this.choosing) {
                    this.resume(this.choosing, file);
                }
            });
        }

        async show() {
            let entries = [];
            try {
                entries = await this.queue.tus.defaultOptions.urlStorage.findAllUploads();
            } catch {
                return; // No storage to read: nothing can be resumed anyway.
            }
            const endpoint = new URL(this.queue.tusEndpoint, document.baseURI).href;
            const ours = entries.filter(
                (entry) => entry.uploadUrl && new URL(entry.uploadUrl, endpoint).href.startsWith(endpoint),
            );
            ours.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
            for (const entry of ours) {
                this.add(entry);
            }
        }

        add(entry) {
            const name = (entry.metadata && entry.metadata.filename) || "unnamed file";
            const item = this.template.content.firstElementChild.cloneNode(true);
            const part = (partName) => item.querySelector(`.unfinished-${partName}`);
            part("name").textContent = name;
            part("size").textContent = formatBytes(entry.size);
            const started = new Date(entry.creationTime);
            part("started").textContent = Number.isNaN(started.getTime())
                ? ""
                : `started ${started.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" })}`;
            part("resume").setAttribute("aria-label", `Resume the upload of ${name}`);
            part("discard").setAttribute("aria-label", `Discard the upload of ${name}`);
            part("resume").addEventListener("click", () => {
                this.choosing = entry;
                part("message").textContent = "";
                this.picker.click();
            });
            part("discard").addEventListener("click", () => this.discard(entry));
            this.items.set(entry.urlStorageKey, { item, part });
            this.list.append(item);
            this.section.hidden = false;
        }

        resume(entry, file) {
            const metadata = entry.metadata || {};
            const sameFile =
                file.name === metadata.filename &&
                file.size === entry.size &&
                (file.type || "") === (metadata.filetype || "");
            const shown = this.items.get(entry.urlStorageKey);
            if (!sameFile) {
                shown.part("message").textContent =
                    `That is not the same file: choose ${metadata.filename} (${formatBytes(entry.size)}).`;
                return;
            }
            this.forget(entry);
            this.queue.add([file], entry);
        }

        async discard(entry) {
            const shown = this.items.get(entry.urlStorageKey);
            shown.part("discard").disabled = true;
            try {
                await this.queue.tus.Upload.terminate(entry.uploadUrl, {
                    headers: this.queue.tusHeaders,
                    retryDelays: [0, 1000],
                });
            } catch (error) {
                const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
                // Gone already (finished elsewhere, expired): there is nothing left to discard.
                if (status !== 404 && status !== 410) {
                    shown.part("message").textContent = `It could not be discarded: ${tusFailure(error)}`;
                    shown.part("discard").disabled = false;
                    return;
                }
            }
            await this.queue.tus.defaultOptions.urlStorage.removeUpload(entry.urlStorageKey);
            this.forget(entry);
        }

        forget(entry) {
            const shown = this.items.get(entry.urlStorageKey);
            if (shown) {
                shown.item.remove();
                this.items.delete(entry.urlStorageKey);
            }
            this.section.hidden = this.items.size === 0;
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
            this.tus = usableTus(form);
            this.tusEndpoint = form.dataset.tusEndpoint;
            this.tusHeaders = { "X-CSRF-Token": this.csrfToken, Accept: "application/json" };
            this.unfinished = this.tus ? new UnfinishedUploads(this) : null;
        }

        forgetUnfinished(entry) {
            if (this.unfinished) {
                this.unfinished.forget(entry);
            }
        }

        add(files, previous = null) {
            for (const file of files) {
                const row = new UploadRow(file, this, previous);
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

    // tus-js-client when the page names a tus endpoint and the browser has what the client needs
    // (XHR, Blob slicing); null sends each file as one multipart POST instead.
    function usableTus(form) {
        const tus = window.tus;
        return form.dataset.tusEndpoint && tus && tus.isSupported ? tus : null;
    }

    function enhance(form) {
        const queue = new UploadQueue(form);
        if (queue.unfinished) {
            queue.unfinished.show();
        }
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
