using System.Globalization;
using Lockstep.Events;
using Lockstep.Records;

namespace Lockstep.Bench;

/// <summary>The events every scenario publishes: approved permits as in the acceptance example, one record per key.</summary>
internal static class Permits
{
    public const string Type = "permitApproved";

    /// <summary>The flow of the acceptance example: a JS map, PUT by key, a version header.</summary>
    public static string FlowYaml(string system) => $$"""
          permits-to-{{system}}:
            on: [{{Type}}]
            to: {{system}}
            map: |
              (p, r) => ({ registryId: p.id, applicantName: `${p.owner.firstName} ${p.owner.lastName}`,
                           geo: { lat: p.location.lat, lon: p.location.lng }, rev: p.rev })
            upsert: PUT /api/records/{key}
            headers: { X-Record-Version: "{version}" }
            retry: { maxAttempts: 1000, initialDelay: 50ms, maxDelay: 1s }
        """;

    /// <summary>The engine-wide <c>delivery:</c> section (empty: the shipped defaults).</summary>
    public static string DeliveryYaml(BenchOptions options) =>
        options.NoCompletionEvents ? "delivery: { completionEvents: false }" : options.CompletionEvents ? "delivery: { completionEvents: true }" : "";

    public static Event Make(string prefix, int n)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}{n}");
        var data = string.Create(CultureInfo.InvariantCulture,
            $$"""{"id":"{{key}}","status":"approved","owner":{"firstName":"Ada","lastName":"Lovelace {{n % 997}}"},"location":{"lat":{{52.0 + (n % 1000) / 1000.0}},"lng":{{13.0 + (n % 777) / 1000.0}}},"rev":1,"issuedBy":"city of bench","note":"benchmark record"}""");
        return new Event("", Type, "permit", key, 1, RecordOp.Upsert, data);
    }

    /// <summary>Events <paramref name="from"/> .. <paramref name="from"/>+<paramref name="count"/>-1 in arrays of <paramref name="batch"/>.</summary>
    public static List<Event[]> Batches(string prefix, int from, int count, int batch)
    {
        var batches = new List<Event[]>((count + batch - 1) / batch);
        for (var start = 0; start < count; start += batch)
        {
            var size = Math.Min(batch, count - start);
            var array = new Event[size];
            for (var i = 0; i < size; i++) array[i] = Make(prefix, from + start + i);
            batches.Add(array);
        }
        return batches;
    }
}
