using System.Text.Json;

namespace Lockstep.Host.Fluent;

/// <summary>One change handed to an <c>OnChange</c> handler: the record, its version, and its data (none for a delete).</summary>
public sealed record Change(string Entity, string Key, long Version, bool Deleted, JsonElement? Data, string IdempotencyKey);
