namespace Lockstep.Storage.Sqlite.Schema;

/// <summary>
/// The journal schema, as numbered steps applied in order at startup; <c>schema_version</c> records the last applied.
/// A new release appends a step and never edits an old one.
/// </summary>
internal static class Migrations
{
    public static IReadOnlyList<string> Steps { get; } =
    [
        """
        CREATE TABLE events(
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            version INTEGER NOT NULL,
            op INTEGER NOT NULL,
            data TEXT,
            received_at INTEGER NOT NULL,
            status INTEGER NOT NULL,      -- 0 accepted, 2 stale
            flows TEXT,                   -- the flows it was routed to, one per line
            completion INTEGER NOT NULL   -- 0 not tracked, 1 open, 2 completed, 3 failed
        );
        CREATE INDEX ix_events_open ON events(entity, key) WHERE completion IN (1, 3);
        CREATE TABLE records(
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            version INTEGER NOT NULL,
            op INTEGER NOT NULL,
            event_seq INTEGER NOT NULL,
            PRIMARY KEY(entity, key)
        ) WITHOUT ROWID;
        CREATE TABLE deliveries(
            id INTEGER PRIMARY KEY,
            flow TEXT NOT NULL,
            system TEXT NOT NULL,
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            version INTEGER NOT NULL,          -- the newest version routed to this flow: the one to deliver
            event_seq INTEGER NOT NULL,
            version_at INTEGER NOT NULL,       -- when that version was routed
            state INTEGER NOT NULL,            -- 0 pending, 1 in flight, 2 delivered, 3 dead
            due_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            delivered_version INTEGER NOT NULL DEFAULT 0,
            pending_since INTEGER,
            last_error TEXT,
            UNIQUE(flow, entity, key)
        );
        CREATE INDEX ix_deliveries_due ON deliveries(system, state, due_at);
        CREATE TABLE attempts(
            id INTEGER PRIMARY KEY,
            flow TEXT NOT NULL,
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            version INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            duration_us INTEGER NOT NULL,
            outcome INTEGER NOT NULL,          -- CompletionKind
            status_code INTEGER,
            error TEXT
        );
        CREATE INDEX ix_attempts_record ON attempts(entity, key, flow);
        CREATE TABLE dead_letters(
            id INTEGER PRIMARY KEY,
            flow TEXT NOT NULL,
            system TEXT NOT NULL,
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            version INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            status_code INTEGER,
            error TEXT,
            dead_at INTEGER NOT NULL
        );
        CREATE INDEX ix_dead_letters_record ON dead_letters(flow, entity, key);
        CREATE TABLE flow_stats(
            flow TEXT PRIMARY KEY,
            delivered INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            last_success_at INTEGER,
            last_failure_at INTEGER,
            last_error TEXT
        );
        """,
        """
        CREATE TABLE cursors(
            source TEXT PRIMARY KEY,
            cursor TEXT,
            next_page TEXT,                   -- set when a run stopped at its page limit: the next run resumes there
            updated_at INTEGER NOT NULL
        );
        ALTER TABLE deliveries ADD COLUMN repair INTEGER NOT NULL DEFAULT 0;   -- > 0: a reconciliation resend, keyed apart
        CREATE TABLE reconcile_runs(
            id INTEGER PRIMARY KEY,
            flow TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            finished_at INTEGER NOT NULL,
            checked INTEGER NOT NULL,
            missing INTEGER NOT NULL,
            different INTEGER NOT NULL,
            extra INTEGER NOT NULL,
            repaired INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            sample TEXT
        );
        """,
        """
        CREATE INDEX ix_events_record ON events(entity, key, version);
        CREATE TABLE audit(
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            detail TEXT
        );
        """,
        """
        CREATE TABLE sync_state(
            pair TEXT NOT NULL,
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            base TEXT,                             -- the record both sides last agreed on (three-way merge base)
            base_op INTEGER,
            source_hash TEXT,                      -- hash of what the source side holds from Lockstep (echo suppression)
            target_hash TEXT,
            source_pending INTEGER NOT NULL DEFAULT 0,   -- > 0: this version has not reached the source side yet
            target_pending INTEGER NOT NULL DEFAULT 0,
            source_seen INTEGER,                   -- the newest version each side reported (its own numbering)
            target_seen INTEGER,
            PRIMARY KEY(pair, entity, key)
        ) WITHOUT ROWID;
        CREATE TABLE conflicts(
            id INTEGER PRIMARY KEY,
            pair TEXT NOT NULL,
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            policy TEXT NOT NULL,
            detected_at INTEGER NOT NULL,
            base TEXT,
            source_data TEXT,
            source_deleted INTEGER NOT NULL,
            target_data TEXT,
            target_deleted INTEGER NOT NULL,
            outcome TEXT NOT NULL,                 -- open, source, target, merged, custom
            result TEXT,
            detail TEXT,
            resolved_at INTEGER,
            resolved_by TEXT                       -- "policy" or who resolved it
        );
        CREATE INDEX ix_conflicts_open ON conflicts(pair, entity, key) WHERE outcome = 'open';
        CREATE TABLE held(                         -- deliveries of a record parked in an open conflict
            flow TEXT NOT NULL,
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            conflict_id INTEGER NOT NULL,
            PRIMARY KEY(flow, entity, key)
        ) WITHOUT ROWID;
        """,
        // Step 5: indexes for retention pruning.
        """
        CREATE INDEX ix_events_received ON events(received_at);
        CREATE INDEX ix_deliveries_event ON deliveries(event_seq) WHERE state <> 2;
        CREATE INDEX ix_dead_letters_event ON dead_letters(event_id);
        CREATE INDEX ix_attempts_started ON attempts(started_at);
        CREATE INDEX ix_audit_at ON audit(at);
        """,
        """
        -- W3C traceparent of the intake span: delivery spans link to it. (No comment on a step's last line: the version
        -- bookkeeping is appended to it.)
        ALTER TABLE events ADD COLUMN traceparent TEXT;
        """,
        """
        -- Who owns the journal's work: each open takes the lease with a new epoch, and a claim or an outcome commits only
        -- while its epoch is still the lease's, so a process the lease moved away from commits nothing stale. Claimed rows
        -- carry the epoch that claimed them.
        CREATE TABLE leases(
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            acquired_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        ALTER TABLE deliveries ADD COLUMN claim_epoch INTEGER NOT NULL DEFAULT 0;
        """,
        """
        -- Operators' pauses (kind: flow, system, source): kept here so a pause survives a restart.
        CREATE TABLE pauses(
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            paused_by TEXT NOT NULL,
            paused_at INTEGER NOT NULL,
            reason TEXT,
            PRIMARY KEY(kind, name)
        ) WITHOUT ROWID;
        """,
        """
        -- The identity map: the id a target assigned to a record on create, per flow (lookup, update and delete use it).
        CREATE TABLE identities(
            flow TEXT NOT NULL,
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            target_id TEXT NOT NULL,
            saved_at INTEGER NOT NULL,
            PRIMARY KEY(flow, entity, key)
        ) WITHOUT ROWID;
        CREATE INDEX ix_identities_record ON identities(entity, key);
        """,
        """
        -- Backfills: a flow added to a journal that already holds records receives their newest state, page by key; the
        -- cursor moves with each page sent. flows_seen tells a new flow from a known one (every flow with a delivery is known).
        CREATE TABLE backfills(
            flow TEXT PRIMARY KEY,
            after_entity TEXT,
            after_key TEXT,
            checked INTEGER NOT NULL DEFAULT 0,
            sent INTEGER NOT NULL DEFAULT 0,
            started_at INTEGER NOT NULL,
            finished_at INTEGER
        ) WITHOUT ROWID;
        CREATE TABLE flows_seen(flow TEXT PRIMARY KEY) WITHOUT ROWID;
        INSERT INTO flows_seen(flow) SELECT DISTINCT flow FROM deliveries
        """,
    ];
}
