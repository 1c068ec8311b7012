-- Signing out ends every session of the user: a session carries the generation it began in.
ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
