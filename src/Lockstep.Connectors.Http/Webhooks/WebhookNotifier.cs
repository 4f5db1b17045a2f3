using System.Globalization;
using System.Text.Json;
using Lockstep.Connectors;
using Lockstep.Notifications;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http.Webhooks;

/// <summary>
/// Posts a notice as <c>{"type":"lockstep.notice","channel","from","to","systems":{NAME:{"counts":{...},"samples":[...]}}}</c>,
/// signed per Standard Webhooks (<c>webhook-id</c> = channel and window start, so a resend is recognisable).
/// </summary>
public sealed class WebhookNotifier(WebhookChannelSettings settings, ConnectorContext context) : INotifier
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask<bool> SendAsync(Notice notice, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new { type = "lockstep.notice", notice.Channel, notice.From, notice.To, notice.Systems }, Json);
        var id = $"notice:{notice.Channel}:{notice.From.ToUnixTimeMilliseconds()}";
        var timestamp = context.Time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TryAddWithoutValidation("webhook-id", id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", string.Join(' ', settings.Secrets.Select(s => WebhookCheck.Sign(s.Reveal(), id, timestamp, body))));
        try
        {
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
