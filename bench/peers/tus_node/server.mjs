// @tus/server with @tus/file-store as the package's README runs it standalone ("Use"): one
// process, since its default MemoryLocker is only safe within one (more instances need a shared
// locker such as Redis). API clients are authorised by the same X-API-Key header as quart_app's.
//
// node server.mjs PORT   (BENCH_UPLOAD_DIR: the store's folder; BENCH_API_KEY: the key)
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const port = Number(process.argv[2]);
const directory = process.env.BENCH_UPLOAD_DIR ?? "./files";
const apiKey = process.env.BENCH_API_KEY ?? "";

const server = new Server({
  path: "/files",
  datastore: new FileStore({ directory }),
  async onIncomingRequest(req) {
    // A CORS preflight carries no credentials.
    if (req.method !== "OPTIONS" && req.headers.get("x-api-key") !== apiKey) {
      throw { status_code: 401, body: "Unauthorized\n" };
    }
  },
});
server.listen({ host: "127.0.0.1", port });
