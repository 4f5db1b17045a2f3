using System.Net.Http.Json;
using System.Text.Json;

namespace Lockstep.Cli.Commands;

/// <summary>The CLI's view of a running Lockstep's HTTP API; errors come back as the server's problem detail.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    /// <param name="url">The running Lockstep.</param>
    /// <remarks>The API key, when the server needs one, comes from $LOCKSTEP_API_KEY (never a command-line argument, which others can read).</remarks>
    public ApiClient(string url)
    {
        _http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(60) };
        if (Environment.GetEnvironmentVariable("LOCKSTEP_API_KEY") is { Length: > 0 } key)
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
    }

    public async Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken) =>
        await ReadAsync(await _http.GetAsync(path.TrimStart('/'), cancellationToken), cancellationToken);

    public async Task<JsonElement> PostAsync(string path, object? body, CancellationToken cancellationToken) =>
        await ReadAsync(await _http.PostAsJsonAsync(path.TrimStart('/'), body ?? new { }, cancellationToken), cancellationToken);

    public async Task<JsonElement> PostRawAsync(string path, ReadOnlyMemory<byte> json, CancellationToken cancellationToken)
    {
        using var content = new ReadOnlyMemoryContent(json);
        content.Headers.ContentType = new("application/json");
        return await ReadAsync(await _http.PostAsync(path.TrimStart('/'), content, cancellationToken), cancellationToken);
    }

    public async Task<JsonElement> DeleteJsonAsync(string path, CancellationToken cancellationToken) =>
        await ReadAsync(await _http.DeleteAsync(path.TrimStart('/'), cancellationToken), cancellationToken);

    public async Task DeleteAsync(string path, CancellationToken cancellationToken) =>
        await ReadAsync(await _http.DeleteAsync(path.TrimStart('/'), cancellationToken), cancellationToken);

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var detail = text;
                try
                {
                    using var problem = JsonDocument.Parse(text);
                    detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() ?? text : text;
                    if (problem.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
                        detail += Environment.NewLine + string.Join(Environment.NewLine, errors.EnumerateArray().Select(e => $"  {e.GetProperty("field").GetString()}: {e.GetProperty("message").GetString()}"));
                }
                catch (JsonException)
                {
                    // Not problem+json: show the body as it came.
                }
                throw new ApiException((int)response.StatusCode, detail);
            }
            if (text.Length == 0) return default;
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The server answered with an error status.</summary>
internal sealed class ApiException(int status, string detail) : Exception($"HTTP {status}: {detail}")
{
    public int Status { get; } = status;
}
