using System.Security.Cryptography;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http.GoogleCalendar;

/// <summary>
/// <c>type: google-calendar</c>: one calendar of the Google Calendar API v3 (<c>calendarId</c>), reached with a service
/// account's JSON key file (<c>serviceAccount</c>, the RFC 7523 JWT bearer grant) or an OAuth2 refresh token
/// (<c>oauth2: {clientId, clientSecret, refreshToken}</c>). Each record is one event with an id derived from its key.
/// </summary>
public sealed class GoogleCalendarConnectorFactory : IConnectorFactory
{
    public const string DefaultScope = "https://www.googleapis.com/auth/calendar.events";

    public string Type => "google-calendar";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["calendarId", "serviceAccount", "subject", "scope", "oauth2", "baseUrl"];

    public IReadOnlyCollection<string> FlowKeys { get; } = [];

    public object? BindSystem(ConfigSection system)
    {
        var calendar = system.String("calendarId", required: true);
        var baseUrl = system.HttpUrl("baseUrl") ?? new Uri("https://www.googleapis.com/calendar/v3/");
        if (!baseUrl.AbsolutePath.EndsWith('/')) baseUrl = new Uri(baseUrl, baseUrl.AbsolutePath + "/");
        var scope = system.String("scope") ?? DefaultScope;
        var subject = system.String("subject");
        if (system.Has("serviceAccount") == system.Has("oauth2"))
        {
            system.Error("needs exactly one of serviceAccount (a service account's JSON key file) or oauth2 (clientId, clientSecret, refreshToken)");
            return null;
        }
        GoogleCredentials? credentials = null;
        if (system.Has("serviceAccount")) credentials = ServiceAccount(system, scope, subject);
        else if (system.Section("oauth2", required: true) is { } oauth2)
        {
            oauth2.CheckKeys(["clientId", "clientSecret", "refreshToken", "tokenUrl"]);
            var clientId = oauth2.String("clientId", required: true);
            var secret = oauth2.SecretValue("clientSecret", required: true);
            var refresh = oauth2.SecretValue("refreshToken", required: true);
            var tokenUrl = oauth2.HttpUrl("tokenUrl") ?? new Uri("https://oauth2.googleapis.com/token");
            if (subject is not null) system.Error("subject", "only applies to a service account (domain-wide delegation)");
            if (clientId is not null && secret is not null && refresh is not null) credentials = new RefreshTokenCredentials(tokenUrl, clientId, secret, refresh);
        }
        return calendar is null || credentials is null ? null : new GoogleCalendarOptions(baseUrl, calendar, credentials);
    }

    private static ServiceAccountCredentials? ServiceAccount(ConfigSection system, string scope, string? subject)
    {
        var path = system.String("serviceAccount", required: true);
        if (path is null) return null;
        var full = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(system.Context.File)) ?? ".", path));
        try
        {
            using var key = JsonDocument.Parse(File.ReadAllBytes(full));
            var root = key.RootElement;
            string? Field(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            if (Field("private_key") is { } pem) system.Context.Secrets.Add(pem, always: true);
            if (Field("type") != "service_account")
            {
                system.Error("serviceAccount", $"'{path}' is not a service account key file (its type is not service_account)");
                return null;
            }
            var missing = new[] { "client_email", "private_key", "token_uri" }.Where(n => Field(n) is null).ToList();
            if (missing.Count > 0)
            {
                system.Error("serviceAccount", $"'{path}' has no {string.Join(", ", missing)}");
                return null;
            }
            if (!Uri.TryCreate(Field("token_uri"), UriKind.Absolute, out var tokenUri) || tokenUri.Scheme is not ("http" or "https"))
            {
                system.Error("serviceAccount", $"'{path}': token_uri is not an http(s) URL");
                return null;
            }
            var rsa = RSA.Create();
            try
            {
                rsa.ImportFromPem(Field("private_key"));
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                rsa.Dispose();
                system.Error("serviceAccount", $"'{path}': private_key is not a PEM RSA private key");
                return null;
            }
            return new ServiceAccountCredentials(tokenUri, Field("client_email")!, Field("private_key_id"), rsa, scope, subject);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            system.Error("serviceAccount", $"cannot read '{path}': {e.Message}");
            return null;
        }
        catch (JsonException)
        {
            system.Error("serviceAccount", $"'{path}' is not JSON (expected a Google service account key file)");
            return null;
        }
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system) => null;

    public IConnector Create(SystemDefinition system, ConnectorContext context) =>
        new GoogleCalendarConnector(system, (GoogleCalendarOptions)system.Settings!, context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("a google-calendar system cannot be polled yet");

    public string? CannotReconcile(FlowDefinition flow) => null;
}

internal sealed record GoogleCalendarOptions(Uri BaseUrl, string CalendarId, GoogleCredentials Credentials)
{
    public Uri Events => new(BaseUrl, $"calendars/{Uri.EscapeDataString(CalendarId)}/events");

    public Uri Event(string id) => new(BaseUrl, $"calendars/{Uri.EscapeDataString(CalendarId)}/events/{id}");
}

internal abstract record GoogleCredentials(Uri TokenUrl);

/// <summary>A service account: the JWT (RS256, signed with its private key) is exchanged at its token_uri.</summary>
internal sealed record ServiceAccountCredentials(Uri TokenUrl, string ClientEmail, string? KeyId, RSA Key, string Scope, string? Subject) : GoogleCredentials(TokenUrl);

internal sealed record RefreshTokenCredentials(Uri TokenUrl, string ClientId, Secret ClientSecret, Secret RefreshToken) : GoogleCredentials(TokenUrl);
