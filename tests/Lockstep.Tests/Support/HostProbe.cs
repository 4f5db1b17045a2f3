using System.Net;
using System.Text.Json;

namespace Lockstep.Tests.Support;

/// <summary>What a test reads off a running host over HTTP: readiness, a JSON document, status reaching <c>synced</c>.</summary>
internal static class HostProbe
{
    public static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/health/ready");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    public static async Task<JsonElement> GetJsonAsync(HttpClient http, string path)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync(path));
        return document.RootElement.Clone();
    }

    public static Task WaitSyncedAsync(HttpClient http) =>
        Eventually.WaitAsync(async () => (await GetJsonAsync(http, "/api/status")).GetProperty("state").GetString() == "synced", "status synced");
}
