using System.Net;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.Http;

// A connection check with side-effect-free requests only: OPTIONS on each operation's path (rendered for a probe key),
// which tells reachability and authentication, and, where the server lists them in Allow, the methods it permits.
internal sealed partial class HttpConnector : ICheckableConnector
{
    private const string ProbeKey = "lockstep-check";

    public async ValueTask<IReadOnlyList<CheckStep>> CheckAsync(IReadOnlyList<FlowDefinition> flows, CancellationToken cancellationToken)
    {
        var steps = new List<CheckStep>();
        var operations = flows.SelectMany(f => f.Settings is HttpFlowOptions o
            ? new[] { ("upsert", o.Upsert), ("delete", o.Delete), ("batch", o.Batch), ("get", o.Get) }.Where(x => x.Item2 is not null).Select(x => (Flow: f, Role: x.Item1, Operation: x.Item2!))
            : []).ToList();
        var probe = new Delivery(0, "check", system.Name, "check", ProbeKey, 1, RecordOp.Upsert, "check", "check", null, 1, 0);
        var targets = operations.Count > 0 ? operations.Select(o => (Name: $"{o.Flow.Name}: {o.Role} {o.Operation.Method} {o.Operation.Path}", Path: o.Operation.RenderPath(probe), Method: o.Operation.Method)).ToList()
            : [(Name: "base URL", Path: "", Method: HttpMethod.Options)];
        var reached = false;
        foreach (var target in targets)
        {
            HttpResponseMessage response;
            try
            {
                var url = _http.Resolve(target.Path);
                response = await _http.SendAsync(static u => new HttpRequestMessage(HttpMethod.Options, u), url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (OAuth2TokenException e)
            {
                steps.Add(new CheckStep("authenticate", CheckStep.Failed, Redact($"the OAuth2 token request failed: {CheckStep.Describe(e)}")));
                return steps;
            }
            catch (Exception e) when (e is HttpRequestException or UnsendableRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                steps.Add(new CheckStep("connect", CheckStep.Failed, Redact($"{options.BaseUrl}: {CheckStep.Describe(e)}")));
                return steps;
            }
            using (response)
            {
                var status = (int)response.StatusCode;
                if (!reached)
                {
                    steps.Add(new CheckStep("connect", CheckStep.Ok, $"{options.BaseUrl} answered HTTP {status} {response.ReasonPhrase}"));
                    reached = true;
                }
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.ProxyAuthenticationRequired or HttpStatusCode.Forbidden)
                {
                    var detail = await ReadDetailAsync(response, cancellationToken).ConfigureAwait(false);
                    steps.Add(new CheckStep("authenticate", CheckStep.Failed, Redact($"{target.Name}: HTTP {status} {response.ReasonPhrase}{detail}")));
                    return steps;
                }
                if (steps.All(s => s.Name != "authenticate"))
                    steps.Add(new CheckStep("authenticate", CheckStep.Ok, $"not refused (HTTP {status} to OPTIONS)"));
                if (target.Name == "base URL") continue;
                var allow = response.Content.Headers.Allow;
                steps.Add(allow.Count == 0
                    ? new CheckStep(target.Name, CheckStep.Unknown, $"the server does not list allowed methods (HTTP {status} to OPTIONS, no Allow header)")
                    : allow.Contains(target.Method.Method, StringComparer.OrdinalIgnoreCase)
                        ? new CheckStep(target.Name, CheckStep.Ok, $"allowed (Allow: {string.Join(", ", allow)})")
                        : new CheckStep(target.Name, CheckStep.Failed, $"{target.Method.Method} is not allowed (Allow: {string.Join(", ", allow)})"));
            }
        }
        return steps;
    }
}
