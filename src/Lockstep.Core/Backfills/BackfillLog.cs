using Microsoft.Extensions.Logging;

namespace Lockstep.Backfills;

internal static partial class BackfillLog
{
    [LoggerMessage(6001, LogLevel.Information, "Flow {Flow} is new to this journal: backfilling the records it already holds")]
    public static partial void NewFlow(ILogger logger, string flow);

    [LoggerMessage(6002, LogLevel.Information, "Backfill of flow {Flow} finished")]
    public static partial void Finished(ILogger logger, string flow);
}
