using System.Text.Json;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.Messaging.Topics;

/// <summary>
/// What a broker target publishes: the mapped JSON for an upsert; for a delete, <c>{"entity","key","version","deleted":true}</c>
/// (a message cannot be un-sent, so a delete is a message too, and a Lockstep source reads it with <c>tombstone: deleted</c>).
/// </summary>
internal static class Tombstone
{
    public static ReadOnlyMemory<byte> Body(Delivery delivery, ReadOnlyMemory<byte> mapped) =>
        delivery.Op == RecordOp.Delete || mapped.IsEmpty
            ? JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["entity"] = delivery.Entity, ["key"] = delivery.Key, ["version"] = delivery.Version, ["deleted"] = true })
            : mapped;

    public static string Op(Delivery delivery) => delivery.Op == RecordOp.Delete ? "delete" : "upsert";
}
