-- The workers that run jobs, as each announces itself: at start, then at
-- every heartbeat, and once more when it stops. A worker not seen for
-- longer than its lease (`lease_ms`) is gone (it died without saying so);
-- rows of workers gone for a day are deleted by the next announcement.
CREATE TABLE workers (
    id           TEXT    PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 200),
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    -- The queues it serves and how many of each it runs at once: JSON.
    queues       TEXT    NOT NULL CHECK (json_valid(queues)),
    version      TEXT    NOT NULL,
    lease_ms     BIGINT  NOT NULL CHECK (lease_ms > 0),
    started_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    stopped_at   BIGINT
);
