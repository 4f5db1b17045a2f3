using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace Lockstep.Tests.Support;

/// <summary>A fresh calendar collection on the real Radicale (MKCALENDAR under the test user), read and written over plain HTTP.</summary>
internal sealed partial class RadicaleCalendar : IDisposable
{
    private readonly HttpClient _client;

    private RadicaleCalendar(HttpClient client, string url)
    {
        _client = client;
        Url = url;
    }

    /// <summary>The collection URL, ending with '/'.</summary>
    public string Url { get; }

    public static async Task<RadicaleCalendar> CreateAsync()
    {
        var client = new HttpClient();
        // The test's own look-ups open a connection each: Radicale may close an idle keep-alive connection just as it is
        // reused, and that race ("the response ended prematurely") is the harness's, not the connector's under test.
        client.DefaultRequestHeaders.ConnectionClose = true;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestServers.CalDavUser}:{TestServers.CalDavPassword}")));
        var url = $"{TestServers.CalDav}{TestServers.CalDavUser}/test-{Guid.NewGuid():N}/";
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod("MKCALENDAR"), url));
        if (response.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"MKCALENDAR {url} answered {(int)response.StatusCode}");
        return new RadicaleCalendar(client, url);
    }

    /// <summary>The stored event with this UID, or null when there is none.</summary>
    public async Task<string?> GetAsync(string uid)
    {
        using var response = await _client.GetAsync(Url + Uri.EscapeDataString(uid) + ".ics");
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    public async Task PutAsync(string uid, string ics)
    {
        using var content = new StringContent(ics, Encoding.UTF8, "text/calendar");
        using var response = await _client.PutAsync(Url + Uri.EscapeDataString(uid) + ".ics", content);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The calendar objects the collection holds (PROPFIND, depth 1).</summary>
    public async Task<IReadOnlyList<string>> ListAsync()
    {
        using var request = new HttpRequestMessage(new HttpMethod("PROPFIND"), Url);
        request.Headers.Add("Depth", "1");
        using var response = await _client.SendAsync(request);
        var xml = await response.Content.ReadAsStringAsync();
        return [.. Href().Matches(xml).Select(m => m.Groups[1].Value).Where(h => h.EndsWith(".ics", StringComparison.Ordinal))];
    }

    /// <summary>The value of one property line of a stored event (e.g. SUMMARY), unfolded.</summary>
    public static string? Property(string ics, string name)
    {
        var unfolded = ics.Replace("\r\n ", "", StringComparison.Ordinal).Replace("\n ", "", StringComparison.Ordinal);
        foreach (var line in unfolded.Split('\n'))
        {
            var text = line.TrimEnd('\r');
            if (text.StartsWith(name + ":", StringComparison.Ordinal) || text.StartsWith(name + ";", StringComparison.Ordinal))
                return text[(text.IndexOf(':', StringComparison.Ordinal) + 1)..];
        }
        return null;
    }

    [GeneratedRegex("<href>([^<]+)</href>")]
    private static partial Regex Href();

    public void Dispose() => _client.Dispose();
}
