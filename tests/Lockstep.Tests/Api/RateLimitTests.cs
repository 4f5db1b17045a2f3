using System.Net;
using System.Text;
using Lockstep.Host;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Api;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Intake_beyond_the_rate_and_burst_gets_429_problem_and_status_stays_readable()
    {
        using var folder = new TempFolder();
        const string yaml = """
            storage: sqlite:lockstep.db
            server: { intakeRateLimit: { requestsPerSecond: 1, burst: 3 } }
            systems:
              sink: { type: http, url: "http://127.0.0.1:9" }
            flows:
              f: { entity: nothing, to: sink, upsert: "PUT /x/{key}" }
            """;
        await using var app = LockstepHost.Build(TestEngine.Load(yaml, folder.Path), "http://127.0.0.1:0");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()) };

        var codes = new List<HttpStatusCode>();
        string? problem = null;
        for (var i = 0; i < 6; i++)
        {
            using var response = await http.PostAsync("/api/events",
                new StringContent("{\"type\":\"t\",\"entity\":\"e\",\"key\":\"k" + i + "\",\"data\":{}}", Encoding.UTF8, "application/json"));
            codes.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) problem ??= response.Content.Headers.ContentType?.MediaType;
        }
        using var status = await http.GetAsync("/api/status");

        Assert.All(codes.Take(3), c => Assert.Equal(HttpStatusCode.Accepted, c));
        Assert.Contains(HttpStatusCode.TooManyRequests, codes);
        Assert.Equal("application/problem+json", problem);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        await app.StopAsync();
    }
}
