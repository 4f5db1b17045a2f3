namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal
{
    public async ValueTask CheckWriteAsync(CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            // Changed and changed back in one transaction: SQLite skips an update that changes nothing, but a page changed
            // twice is still written (to the WAL, with an fsync) at the commit, which is what a full disk refuses.
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "UPDATE schema_version SET version = version + 1; UPDATE schema_version SET version = version - 1;";
            return command.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
}
