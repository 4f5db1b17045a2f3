using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lockstep.Host.Api;

/// <summary>How the API writes JSON: camelCase, nulls left out.</summary>
internal static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
