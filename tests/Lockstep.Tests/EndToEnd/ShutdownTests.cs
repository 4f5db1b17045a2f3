using Lockstep.Cli.Demo;
using Lockstep.Tests.Configuration;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.EndToEnd;

public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_mid_delivery_exits_cleanly_and_loses_nothing()
    {
        using var folder = new TempFolder();
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        registry.Latency = TimeSpan.FromMilliseconds(200);
        var config = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(config, ConfigLoaderTests.Acceptance.Replace("http://127.0.0.1:9001", registry.Url));
        await using var lockstep = new LockstepProcess(config, new Dictionary<string, string> { ["REGISTRY_TOKEN"] = "term-tok-42c8d1" });
        await lockstep.StartAsync();
        var events = string.Join(',', Enumerable.Range(1, 100).Select(i =>
            $$"""{"type":"permitApproved","entity":"permit","key":"P-{{i}}","version":1,"data":{"id":"P-{{i}}","rev":1,"owner":{"firstName":"A","lastName":"B"},"location":{"lat":1,"lng":2""" + "}}}"));
        using var http = new HttpClient();
        using var response = await http.PostAsync($"{lockstep.Url}/api/events", new StringContent($"[{events}]", System.Text.Encoding.UTF8, "application/json"));

        await Eventually.WaitAsync(() => !registry.Requests.IsEmpty, "deliveries in flight");
        var exitCode = await lockstep.TerminateAsync();
        var deliveredBeforeStop = registry.Records.Count;
        registry.Latency = TimeSpan.Zero;
        await lockstep.StartAsync();
        await Eventually.WaitAsync(() => registry.Records.Count == 100, "all 100 permits at the registry");

        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(0, exitCode);
        Assert.InRange(deliveredBeforeStop, 1, 99);
        Assert.Equal(0, registry.Repeats);
        Assert.Contains("Application is shutting down", lockstep.Output);
    }
}
