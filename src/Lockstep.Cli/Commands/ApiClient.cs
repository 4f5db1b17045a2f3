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
        _http = new HttpClient { BaseAddress = BaseAddress(url), Timeout = TimeSpan.FromSeconds(60) };
        if (Environment.GetEnvironmentVariable("LOCKSTEP_API_KEY") is { Length: > 0 } key)
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
    }

    /// <summary>The server's address, or a one-line error for anything that is not an http(s) URL (a missing scheme is the usual slip).</summary>
    private static Uri BaseAddress(string url)
    {
        if (Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0)
            return uri;
        var hint = url.Contains("://", StringComparison.Ordinal) ? "use http:// or https://" : $"add the scheme: http://{url}";
        throw new CliUsageException($"--url '{url}' is not an http(s) URL ({hint})");
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
                var fields = new List<(int? Index, string Field, string Message)>();
                try
                {
                    using var problem = JsonDocument.Parse(text);
                    detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() ?? text : text;
                    if (problem.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var e in errors.EnumerateArray())
                        {
                            fields.Add((e.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : null,
                                e.GetProperty("field").GetString() ?? "", e.GetProperty("message").GetString() ?? ""));
                        }
                        // One problem is said by the detail already; several are listed under it.
                        if (fields.Count > 1) detail += Environment.NewLine + string.Join(Environment.NewLine, fields.Select(f => $"  {f.Field}: {f.Message}"));
                    }
                }
                catch (JsonException)
                {
                    // Not problem+json: show the body as it came.
                }
                // The CLI sends the key from the environment, so say which variable, not which header.
                if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
                    detail = Environment.GetEnvironmentVariable("LOCKSTEP_API_KEY") is { Length: > 0 }
                        ? "the API key in LOCKSTEP_API_KEY is not valid: set LOCKSTEP_API_KEY to a key from the server's security.apiKeys"
                        : "this server needs an API key: set LOCKSTEP_API_KEY to a key from its security.apiKeys";
                else if (response.StatusCode == System.Net.HttpStatusCode.Forbidden)
                    detail += " (the key in LOCKSTEP_API_KEY lacks the role this needs: use a key with that role from security.apiKeys)";
                throw new ApiException((int)response.StatusCode, detail, fields);
            }
            if (text.Length == 0) return default;
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The server answered with an error status.</summary>
internal sealed class ApiException(int status, string detail, IReadOnlyList<(int? Index, string Field, string Message)>? fields = null) : Exception($"HTTP {status}: {detail}")
{
    public int Status { get; } = status;

    /// <summary>The problem's field errors; <c>Index</c> is the event's position in an array body.</summary>
    public IReadOnlyList<(int? Index, string Field, string Message)> Fields { get; } = fields ?? [];
}

/// <summary>A mistake in how the CLI was called (a bad option value): one line to stderr, exit 1.</summary>
internal sealed class CliUsageException(string message) : Exception(message);
