using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lockstep.Host.Api;

/// <summary>How the API writes JSON: camelCase; every documented field is present, null when it has no value yet.</summary>
internal static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
