namespace Lockstep.Storage.Postgres.Schema;

/// <summary>
/// The journal schema as numbered steps, applied in order at startup inside one transaction that holds the
/// <c>migrations</c> table locked (so nodes starting together apply each step once); a row per applied step.
/// <c>@.</c> stands for the journal's schema. A new release appends a step and never edits an old one. Times are
/// milliseconds since the Unix epoch, as the engine's clock gives them; lease times are the database's own clock.
/// </summary>
internal static class Migrations
{
    public static IReadOnlyList<string> Steps { get; } =
    [
        """
        CREATE TABLE @.events(
            seq bigint PRIMARY KEY,
            id text NOT NULL UNIQUE,
            type text NOT NULL,
            entity text NOT NULL,
            key text NOT NULL,
            version bigint NOT NULL,
            op smallint NOT NULL,
            data text,
            received_at bigint NOT NULL,
            status smallint NOT NULL,          -- 0 accepted, 2 stale, 3 echo, 4 conflict
            flows text,                        -- the flows it was routed to, one per line
            completion smallint NOT NULL,      -- 0 not tracked, 1 open, 2 completed, 3 failed
            traceparent text
        );
        CREATE SEQUENCE @.events_seq OWNED BY @.events.seq;
        CREATE INDEX ix_events_open ON @.events(entity, key) WHERE completion IN (1, 3);
        CREATE INDEX ix_events_record ON @.events(entity, key, version);
        CREATE INDEX ix_events_received ON @.events(received_at);
        CREATE TABLE @.records(
            entity text NOT NULL,
            key text NOT NULL,
            version bigint NOT NULL,
            op smallint NOT NULL,
            event_seq bigint NOT NULL,
            PRIMARY KEY(entity, key)
        );
        CREATE TABLE @.deliveries(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            flow text NOT NULL,
            system text NOT NULL,
            entity text NOT NULL,
            key text NOT NULL,
            version bigint NOT NULL,           -- the newest version routed to this flow: the one to deliver
            event_seq bigint NOT NULL,
            version_at bigint NOT NULL,        -- when that version was routed
            state smallint NOT NULL,           -- 0 pending, 1 in flight, 2 delivered, 3 dead
            due_at bigint NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            delivered_version bigint NOT NULL DEFAULT 0,
            pending_since bigint,
            last_error text,
            repair bigint NOT NULL DEFAULT 0,  -- > 0: a reconciliation resend, keyed apart
            claim_epoch bigint NOT NULL DEFAULT 0,
            UNIQUE(flow, entity, key)
        );
        CREATE INDEX ix_deliveries_due ON @.deliveries(system, due_at) WHERE state = 0;
        CREATE INDEX ix_deliveries_event ON @.deliveries(event_seq) WHERE state <> 2;
        CREATE TABLE @.attempts(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            flow text NOT NULL,
            entity text NOT NULL,
            key text NOT NULL,
            version bigint NOT NULL,
            attempt integer NOT NULL,
            started_at bigint NOT NULL,
            duration_us bigint NOT NULL,
            outcome smallint NOT NULL,         -- CompletionKind
            status_code integer,
            error text
        );
        CREATE INDEX ix_attempts_record ON @.attempts(entity, key, flow);
        CREATE INDEX ix_attempts_started ON @.attempts(started_at);
        CREATE TABLE @.dead_letters(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            flow text NOT NULL,
            system text NOT NULL,
            entity text NOT NULL,
            key text NOT NULL,
            version bigint NOT NULL,
            event_id text NOT NULL,
            event_type text NOT NULL,
            attempts integer NOT NULL,
            status_code integer,
            error text,
            dead_at bigint NOT NULL
        );
        CREATE INDEX ix_dead_letters_record ON @.dead_letters(flow, entity, key);
        CREATE INDEX ix_dead_letters_event ON @.dead_letters(event_id);
        CREATE TABLE @.flow_stats(
            flow text PRIMARY KEY,
            delivered bigint NOT NULL DEFAULT 0,
            failed bigint NOT NULL DEFAULT 0,
            last_success_at bigint,
            last_failure_at bigint,
            last_error text
        );
        CREATE TABLE @.cursors(
            source text PRIMARY KEY,
            cursor text,
            next_page text,                    -- set when a run stopped at its page limit: the next run resumes there
            updated_at bigint NOT NULL
        );
        CREATE TABLE @.reconcile_runs(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            flow text NOT NULL,
            started_at bigint NOT NULL,
            finished_at bigint NOT NULL,
            checked bigint NOT NULL,
            missing bigint NOT NULL,
            different bigint NOT NULL,
            extra bigint NOT NULL,
            repaired bigint NOT NULL,
            failed bigint NOT NULL,
            sample text
        );
        CREATE TABLE @.audit(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at bigint NOT NULL,
            actor text NOT NULL,
            action text NOT NULL,
            target text,
            detail text
        );
        CREATE INDEX ix_audit_at ON @.audit(at);
        CREATE TABLE @.sync_state(
            pair text NOT NULL,
            entity text NOT NULL,
            key text NOT NULL,
            base text,
            base_op smallint,
            source_hash text,
            target_hash text,
            source_pending bigint NOT NULL DEFAULT 0,
            target_pending bigint NOT NULL DEFAULT 0,
            source_seen bigint,
            target_seen bigint,
            PRIMARY KEY(pair, entity, key)
        );
        CREATE TABLE @.conflicts(
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            pair text NOT NULL,
            entity text NOT NULL,
            key text NOT NULL,
            policy text NOT NULL,
            detected_at bigint NOT NULL,
            base text,
            source_data text,
            source_deleted boolean NOT NULL,
            target_data text,
            target_deleted boolean NOT NULL,
            outcome text NOT NULL,             -- open, source, target, merged, custom
            result text,
            detail text,
            resolved_at bigint,
            resolved_by text
        );
        CREATE INDEX ix_conflicts_open ON @.conflicts(pair, entity, key) WHERE outcome = 'open';
        CREATE TABLE @.held(
            flow text NOT NULL,
            entity text NOT NULL,
            key text NOT NULL,
            conflict_id bigint NOT NULL,
            PRIMARY KEY(flow, entity, key)
        );
        -- Who owns the journal's work: each open takes the lease with a new epoch (the database's clock stamps it), and a
        -- claim, an outcome or a cursor commits only while its epoch is still the lease's.
        CREATE TABLE @.leases(
            name text PRIMARY KEY,
            owner text NOT NULL,
            epoch bigint NOT NULL,
            acquired_at timestamptz NOT NULL
        );
        """,
        """
        -- Operators' pauses (kind: flow, system, source): kept here so a pause survives a restart.
        CREATE TABLE @.pauses(
            kind text NOT NULL,
            name text NOT NULL,
            paused_by text NOT NULL,
            paused_at bigint NOT NULL,
            reason text,
            PRIMARY KEY(kind, name)
        );
        -- The identity map: the id a target assigned to a record on create, per flow.
        CREATE TABLE @.identities(
            flow text NOT NULL,
            entity text NOT NULL,
            key text NOT NULL,
            target_id text NOT NULL,
            saved_at bigint NOT NULL,
            PRIMARY KEY(flow, entity, key)
        );
        CREATE INDEX ix_identities_record ON @.identities(entity, key);
        """,
        """
        -- Backfills: a flow added to a journal that already holds records receives their newest state, page by key; the
        -- cursor moves with each page sent. flows_seen tells a new flow from a known one (every flow with a delivery is known).
        CREATE TABLE @.backfills(
            flow text PRIMARY KEY,
            after_entity text,
            after_key text,
            checked bigint NOT NULL DEFAULT 0,
            sent bigint NOT NULL DEFAULT 0,
            started_at bigint NOT NULL,
            finished_at bigint
        );
        CREATE TABLE @.flows_seen(flow text PRIMARY KEY);
        INSERT INTO @.flows_seen(flow) SELECT DISTINCT flow FROM @.deliveries;
        """,
    ];
}
