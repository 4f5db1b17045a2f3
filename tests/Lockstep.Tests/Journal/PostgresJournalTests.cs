namespace Lockstep.Tests.Journal;

// The PostgreSQL journal passes every role's contract (a real server from tests/services.sh, a schema per test).
public sealed class PostgresIntakeTests : IntakeContract<PostgresBackend>;

public sealed class PostgresDeliveryQueueTests : DeliveryQueueContract<PostgresBackend>;

public sealed class PostgresDeadLettersTests : DeadLettersContract<PostgresBackend>;

public sealed class PostgresReadModelTests : ReadModelContract<PostgresBackend>;

public sealed class PostgresCursorTests : CursorContract<PostgresBackend>;

public sealed class PostgresRetentionTests : RetentionContract<PostgresBackend>;

public sealed class PostgresReconcileTests : ReconcileContract<PostgresBackend>;

public sealed class PostgresControlTests : ControlContract<PostgresBackend>;

public sealed class PostgresIdentityTests : IdentityContract<PostgresBackend>;

public sealed class PostgresBackfillTests : BackfillContract<PostgresBackend>;
