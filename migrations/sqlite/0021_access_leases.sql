-- Leases on cached access state (docs/decisions/0029). `access_epoch` is one counter for the
-- instance, bumped in the same transaction as any org's access revision. Each running server
-- holds a row in `server_leases`: until `expires_at_ms` (the database's clock, milliseconds
-- since the Unix epoch) it may serve cached access state without reading the counter per
-- request, and `acked_epoch` is the newest epoch it has seen and invalidated its caches for.
-- A change does not answer its client until every live lease has acknowledged its epoch or run
-- out.
CREATE TABLE access_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO access_epoch (id, epoch) VALUES (1, 0);

CREATE TABLE server_leases (
    server_id     TEXT PRIMARY KEY,
    acked_epoch   BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
