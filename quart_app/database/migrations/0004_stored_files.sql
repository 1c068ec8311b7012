-- The files a store shares with other hosts (S3 with PostgreSQL): their records, which the
-- listing shows newest first, in place of the records kept beside the objects in the bucket.
CREATE TABLE stored_files (
    store TEXT NOT NULL,
    name TEXT NOT NULL,
    original_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (store, name)
);

CREATE INDEX stored_files_newest_first ON stored_files (store, created DESC, name);
