-- The upload quota's ledger, shared by every host storing into one bucket (with PostgreSQL):
-- the bytes its published files hold, and the bytes each host's unfinished resumable uploads
-- have reserved (a host recounts only its own).
CREATE TABLE upload_usage (
    store TEXT PRIMARY KEY,
    published BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE upload_reservations (
    store TEXT NOT NULL,
    holder TEXT NOT NULL,
    reserved BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (store, holder)
);
