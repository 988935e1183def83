-- Console sessions opened with a JWT (issue 17): such a session holds no key hash; it holds the
-- scopes the token granted, and it expires no later than the token did.
ALTER TABLE console_sessions ADD COLUMN credential TEXT NOT NULL DEFAULT 'api_key'
    CHECK (credential IN ('api_key', 'jwt'));
ALTER TABLE console_sessions ADD COLUMN scopes TEXT;
