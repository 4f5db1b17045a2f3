using Lockstep.Cli.Demo;
using Lockstep.Configuration;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors;

public sealed class EmailNotificationTests
{
    private const string Password = "smtp-pw-Q7xZ4kLm9Rt2";

    [Fact]
    public async Task An_outage_of_many_records_sends_a_few_aggregated_mails_without_the_password()
    {
        var time = Clock.Fake();
        await using var smtp = SmtpServer.Start();
        await using var logistics = await SampleRegistry.StartAsync(failureRate: 0);
        logistics.Override = _ => 400;
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              logistics: { type: http, url: "{{logistics.Url}}", circuit: { minimumThroughput: 1000 } }
            notify:
              ops-mail:
                type: email
                smtp: { host: 127.0.0.1, port: {{smtp.Port}}, user: lockstep, password: "${SMTP_PASSWORD}", tls: none }
                from: lockstep@example.org
                to: [ops@example.org, oncall@example.org]
                on: [dead, circuit]
                window: 10s
            flows:
              aid-to-logistics:
                entity: supply
                to: logistics
                upsert: PUT /api/records/{key}
                retry: { maxAttempts: 3, initialDelay: 100ms, maxDelay: 1s }
            """;
        await using var engine = await TestEngine.StartAsync(yaml, time, new Dictionary<string, string> { ["SMTP_PASSWORD"] = Password });

        await engine.PublishAsync([.. Enumerable.Range(1, 300).Select(i => new Lockstep.Events.Event($"s{i}", "supplyMoved", "supply", $"S-{i}", 1,
            Lockstep.Records.RecordOp.Upsert, $$"""{"id":"S-{{i}}"}"""))]);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["logistics"].Dead == 300, "300 dead letters", signal: engine.Committed);
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromSeconds(2), () => Task.FromResult(!smtp.Messages.IsEmpty), "a mail", smtp.Arrived);

        Assert.InRange(smtp.Messages.Count, 1, 3);
        var mail = smtp.Messages.First();
        Assert.Equal(["<ops@example.org>", "<oncall@example.org>"], mail.To.Select(t => t.Split(' ')[0].Replace("TO:", "", StringComparison.OrdinalIgnoreCase)));
        Assert.Contains("Subject: Lockstep (ops-mail): logistics: 300 dead letters", mail.Data);
        Assert.Contains("dead letters: 300", mail.Data);
        Assert.Contains("HTTP 400", mail.Data);
        Assert.Contains(("lockstep", Password), smtp.Logins);
        Assert.DoesNotContain(Password, mail.Data);
        Assert.DoesNotContain(engine.Logs.Lines, line => line.Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_mail_that_cannot_be_sent_is_kept_for_the_next_window()
    {
        var time = Clock.Fake();
        int port;
        await using (var gone = SmtpServer.Start()) port = gone.Port;
        await using var logistics = await SampleRegistry.StartAsync(failureRate: 0);
        logistics.Override = _ => 400;
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              logistics: { type: http, url: "{{logistics.Url}}", circuit: { minimumThroughput: 1000 } }
            notify:
              ops-mail: { type: email, smtp: { host: 127.0.0.1, port: {{port}}, user: lockstep, password: "${SMTP_PASSWORD}", tls: none }, from: lockstep@example.org, to: [ops@example.org], on: [dead], window: 10s }
            flows:
              aid-to-logistics: { entity: supply, to: logistics, upsert: "PUT /api/records/{key}", retry: { maxAttempts: 1 } }
            """;
        await using var engine = await TestEngine.StartAsync(yaml, time, new Dictionary<string, string> { ["SMTP_PASSWORD"] = Password });

        await engine.PublishAsync(TestEngine.Permit("P-1", 1) with { Entity = "supply" });
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["logistics"].Dead == 1, "a dead letter", signal: engine.Committed);
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromSeconds(2),
            () => Task.FromResult(engine.Logs.Lines.Any(l => l.Contains("could not be sent", StringComparison.Ordinal))), "a failed send");

        Assert.Contains(engine.Logs.Lines, l => l.Contains("Email notice on channel ops-mail could not be sent through 127.0.0.1", StringComparison.Ordinal));
        Assert.DoesNotContain(engine.Logs.Lines, line => line.Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public void Email_channel_errors_name_file_line_and_key()
    {
        using var folder = new TempFolder();
        const string yaml = """
            storage: sqlite:lockstep.db
            notify:
              ops-mail:
                type: email
                smtp: { host: mail.example.org, tls: sometimes, password: "${SMTP_PASSWORD}" }
                from: not-an-address
            """;

        var error = Assert.Throws<ConfigException>(() => TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["SMTP_PASSWORD"] = Password }));

        Assert.Contains("lockstep.yaml:5: notify.ops-mail.smtp.tls", error.Message);
        Assert.Contains("lockstep.yaml:5: notify.ops-mail.smtp.user", error.Message);
        Assert.Contains("notify.ops-mail.to", error.Message);
        Assert.Contains("notify.ops-mail.from: 'not-an-address' is not an email address", error.Message);
        Assert.DoesNotContain(Password, error.Message);
    }
}
