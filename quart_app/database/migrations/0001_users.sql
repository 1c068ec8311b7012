-- The tutorial's members: join dates, awards, password hashes; failed sign-ins, for throttling.
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    joined_on TEXT NOT NULL,
    password_hash TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS awards (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (username, position)
);

CREATE TABLE IF NOT EXISTS failed_sign_ins (
    key TEXT NOT NULL,
    failed_at DOUBLE PRECISION NOT NULL
);

CREATE INDEX IF NOT EXISTS failed_sign_ins_by_key ON failed_sign_ins (key, failed_at);
