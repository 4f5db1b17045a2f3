using System.Globalization;
using System.Text;

namespace Lockstep.Gauntlet.Schedules;

/// <summary>
/// Everything one run does, drawn from one seed: the events (in publish order) and the steps that publish them and
/// inject faults. The same seed gives the same schedule; the timing of the real processes is not replayed.
/// </summary>
internal sealed record Schedule(int Seed, IReadOnlyList<EventSpec> Events, IReadOnlyList<Step> Steps)
{
    public const string Entity = "item";

    /// <summary>One line per step, short enough to paste into a bug report.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"seed {Seed}: {Events.Count} events, {Events.Select(e => e.Key).Distinct().Count()} records, {Steps.Count} steps\n");
        foreach (var step in Steps) text.Append("  ").Append(step.Describe(Events)).Append('\n');
        return text.ToString();
    }
}

/// <summary>One published event. <see cref="Id"/> null = published without an id (Lockstep derives entity:key:version).</summary>
/// <see cref="Webhook"/>: pushed alone to the webhook source, signed, with <see cref="Id"/> as its <c>webhook-id</c>.
internal sealed record EventSpec(int Index, string? Id, string Key, long Version, bool Delete, string? Data, bool Poison, bool Webhook = false)
{
    public const string WebhookSource = "hooks";

    public string EffectiveId => Webhook
        ? $"{WebhookSource}:{Id}"
        : Id ?? string.Create(CultureInfo.InvariantCulture, $"{Schedule.Entity}:{Key}:{Version}");

    /// <summary>The body of a push to the webhook source, which maps it to an event.</summary>
    public string WebhookBody()
    {
        var version = Version.ToString(CultureInfo.InvariantCulture);
        return $"{{\"key\":\"{Key}\",\"version\":{version},\"op\":\"{(Delete ? "delete" : "upsert")}\",\"data\":{Data ?? "null"}}}";
    }

    public string Json()
    {
        var id = Id is null ? "" : $"\"id\":\"{Id}\",";
        var version = Version.ToString(CultureInfo.InvariantCulture);
        return Delete
            ? $"{{{id}\"type\":\"itemChanged\",\"entity\":\"{Schedule.Entity}\",\"key\":\"{Key}\",\"version\":{version},\"op\":\"delete\"}}"
            : $"{{{id}\"type\":\"itemChanged\",\"entity\":\"{Schedule.Entity}\",\"key\":\"{Key}\",\"version\":{version},\"data\":{Data}}}";
    }

    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"#{Index} {Key} v{Version}{(Delete ? " delete" : "")}{(Poison ? " poison" : "")}{(Id is null ? "" : " id=" + Id)}{(Webhook ? " (webhook)" : "")}");
}

internal enum ProxyFault
{
    /// <summary>Accepts, then resets at once.</summary>
    Refuse,
    /// <summary>Forwards a few bytes of the request, then resets: the target never sees a whole request.</summary>
    ResetMidRequest,
    /// <summary>Forwards the whole request, drops the answer and resets: applied at the target, unknown to Lockstep.</summary>
    ResetAfterRequest,
    /// <summary>The port stops listening: connections are refused by the kernel.</summary>
    Outage,
}

internal enum TargetFault
{
    /// <summary>500/502/503 without applying.</summary>
    ServerError,
    /// <summary>429 with Retry-After: 1, without applying.</summary>
    TooManyRequests,
    /// <summary>Applies, then answers after the system's timeout.</summary>
    Slow,
}

internal abstract record Step
{
    public abstract string Describe(IReadOnlyList<EventSpec> events);
}

/// <summary>Publishes events (indexes into the schedule's events); a single one is sent as an object, not an array.</summary>
internal sealed record PublishStep(IReadOnlyList<int> Events, bool AsArray) : Step
{
    public override string Describe(IReadOnlyList<EventSpec> events) =>
        AsArray
            ? string.Create(CultureInfo.InvariantCulture, $"publish [{Events.Count}] #{Events[0]}..#{Events[^1]}")
            : events[Events[0]].Webhook ? $"push {events[Events[0]].Describe()}" : $"publish {events[Events[0]].Describe()}";
}

internal sealed record QuietStep(int Milliseconds) : Step
{
    public override string Describe(IReadOnlyList<EventSpec> events) => string.Create(CultureInfo.InvariantCulture, $"quiet {Milliseconds}ms");
}

/// <summary>A fault in the TCP proxy in front of a target, for a while; publishing goes on meanwhile.</summary>
internal sealed record ProxyFaultStep(int Target, ProxyFault Fault, double Rate, int Milliseconds) : Step
{
    public override string Describe(IReadOnlyList<EventSpec> events) =>
        string.Create(CultureInfo.InvariantCulture, $"proxy {TargetNames.Name(Target)} {Fault} rate {Rate:0.00} for {Milliseconds}ms");
}

/// <summary>Answers from the target itself, for a while.</summary>
internal sealed record TargetFaultStep(int Target, TargetFault Fault, double Rate, int Milliseconds) : Step
{
    public override string Describe(IReadOnlyList<EventSpec> events) =>
        string.Create(CultureInfo.InvariantCulture, $"target {TargetNames.Name(Target)} {Fault} rate {Rate:0.00} for {Milliseconds}ms");
}

/// <summary>SIGKILL, then a restart on the same journal after a pause.</summary>
internal sealed record KillStep(int DownMilliseconds) : Step
{
    public override string Describe(IReadOnlyList<EventSpec> events) => string.Create(CultureInfo.InvariantCulture, $"SIGKILL, restart after {DownMilliseconds}ms");
}

/// <summary>SIGSTOP, then SIGCONT.</summary>
internal sealed record StopStep(int Milliseconds) : Step
{
    public override string Describe(IReadOnlyList<EventSpec> events) => string.Create(CultureInfo.InvariantCulture, $"SIGSTOP for {Milliseconds}ms");
}

internal static class TargetNames
{
    /// <summary>Alpha: PUT per record, rejects poison versions with 422. Beta: batched POSTs of mapped records.</summary>
    public static readonly string[] Names = ["alpha", "beta"];

    public static string Name(int target) => Names[target];

    public static string Flow(int target) => $"items-to-{Names[target]}";
}
