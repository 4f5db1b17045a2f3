using Lockstep.Configuration;

namespace Lockstep.Connectors.Sql;

// A connection check that writes nothing: open a connection (reachable, authenticated), then per flow the table, its key
// and version columns, and whether this login may write it.
internal sealed partial class SqlConnector : ICheckableConnector
{
    public async ValueTask<IReadOnlyList<CheckStep>> CheckAsync(IReadOnlyList<FlowDefinition> flows, CancellationToken cancellationToken)
    {
        var steps = new List<CheckStep>();
        System.Data.Common.DbConnection connection;
        try
        {
            connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            steps.Add(new CheckStep("connect and authenticate", CheckStep.Failed, Redact(CheckStep.Describe(e))));
            return steps;
        }
        await using var connectionScope = connection.ConfigureAwait(false);
        steps.Add(new CheckStep("connect and authenticate", CheckStep.Ok, $"{database.Family} connection opened"));
        foreach (var flow in flows)
        {
            if (flow.Settings is not SqlFlowOptions options) continue;
            var name = $"{flow.Name}: table {options.Table}";
            try
            {
                database.Forget(options.Table);
                var table = await database.TableAsync(connection, options.Table, cancellationToken).ConfigureAwait(false);
                if (table is null)
                {
                    steps.Add(new CheckStep(name, CheckStep.Failed, $"table '{options.Table}' does not exist (or this login cannot see it)"));
                    continue;
                }
                var missing = options.Key.Append(options.VersionColumn).Concat(options.SoftDelete is { } soft ? [soft] : [])
                    .Where(c => !table.Columns.ContainsKey(c)).ToList();
                if (missing.Count > 0)
                {
                    steps.Add(new CheckStep(name, CheckStep.Failed, $"column(s) {string.Join(", ", missing)} missing; the table has {table.ColumnList}"));
                    continue;
                }
                var refused = await database.CheckWriteAsync(connection, table, options.SoftDelete is null, cancellationToken).ConfigureAwait(false);
                steps.Add(refused is null ? new CheckStep(name, CheckStep.Ok, "exists with its key and version columns; writes allowed")
                    : new CheckStep(name, CheckStep.Failed, Redact(refused)));
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                steps.Add(new CheckStep(name, CheckStep.Failed, Redact(CheckStep.Describe(e))));
            }
        }
        return steps;
    }
}
