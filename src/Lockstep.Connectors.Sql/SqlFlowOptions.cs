namespace Lockstep.Connectors.Sql;

/// <summary>
/// A flow into a table: the key column(s) upserts conflict on, the column filled with the record version (older never
/// overwrites newer), and an optional soft-delete column set true instead of deleting the row. With several key columns,
/// <see cref="KeySeparator"/> says how the record key holds one value per column (so deletes and reads can find the row).
/// With <see cref="Batch"/>, upserts go in multi-row statements, waiting up to <see cref="Linger"/> to fill a batch.
/// </summary>
internal sealed record SqlFlowOptions(string Table, IReadOnlyList<string> Key, string VersionColumn, string? SoftDelete)
{
    public string? KeySeparator { get; init; }

    public bool Batch { get; init; }

    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The most rows per batch; null for <c>delivery.batchSize</c>.</summary>
    public int? BatchSize { get; init; }
}
