namespace Lockstep.Tests.Journal;

// The embedded journal passes every role's contract.
public sealed class SqliteIntakeTests : IntakeContract<SqliteBackend>;

public sealed class SqliteDeliveryQueueTests : DeliveryQueueContract<SqliteBackend>;

public sealed class SqliteDeadLettersTests : DeadLettersContract<SqliteBackend>;

public sealed class SqliteReadModelTests : ReadModelContract<SqliteBackend>;

public sealed class SqliteCursorTests : CursorContract<SqliteBackend>;

public sealed class SqliteRetentionTests : RetentionContract<SqliteBackend>;

public sealed class SqliteReconcileTests : ReconcileContract<SqliteBackend>;

public sealed class SqliteControlTests : ControlContract<SqliteBackend>;

public sealed class SqliteIdentityTests : IdentityContract<SqliteBackend>;

public sealed class SqliteBackfillTests : BackfillContract<SqliteBackend>;
