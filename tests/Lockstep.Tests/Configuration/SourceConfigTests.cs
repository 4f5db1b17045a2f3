using Lockstep.Configuration;
using Lockstep.Sources;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Configuration;

public sealed class SourceConfigTests
{
    private const string Base = """
        systems:
          clerk: { type: http, url: "http://127.0.0.1:7001" }
          marshal: { type: http, url: "http://127.0.0.1:7002" }
        sources:
          clerk-permits:
            type: http-poll
            from: clerk
            get: GET /permits?since={cursor}
            interval: 2s
            entity: permit
            key: id
            version: updatedAt
            cursor: updatedAt
            overlap: 5s
          marshal-hooks:
            type: webhook
            verify: { standardWebhooks: "${SECRET}" }
            map: (body) => ({ entity: "inspection", key: body.permitId, version: body.rev, data: body })
        flows:
          permits-to-marshal:
            entity: permit
            to: marshal
            upsert: PUT /inspections/{key}
            get: GET /inspections/{key}
            reconcile: { cron: "0 2 * * *", deleteExtra: false }
        """;

    private static readonly Dictionary<string, string> Env = new() { ["SECRET"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" };

    private static IReadOnlyList<ConfigError> Errors(string yaml) =>
        Assert.Throws<ConfigException>(() => TestEngine.Load(yaml, "/tmp", Env)).Errors;

    [Fact]
    public void Sources_schedules_and_reconcile_load()
    {
        var config = TestEngine.Load(Base + "\nschedules:\n  nightly: { run: permits-to-marshal, full: true, cron: \"30 1 * * *\", timeZone: Europe/Paris }\n", "/tmp", Env);

        var poll = config.Sources.Single(s => s.Kind == SourceKind.HttpPoll);
        Assert.Equal(("/permits?since={cursor}", TimeSpan.FromSeconds(5)), (poll.Request, poll.Overlap));
        Assert.Equal("every 2s", poll.Schedule!.ToString());
        Assert.Single(config.Sources.Single(s => s.Kind == SourceKind.Webhook).Verification!.StandardWebhooks);
        Assert.NotNull(config.Flows[0].Reconcile!.Schedule);
        Assert.Contains("Europe/Paris", config.Schedules.Single().Schedule.ToString());
    }

    [Fact]
    public void Bad_sources_name_their_lines()
    {
        var yaml = Base.Replace("from: clerk", "from: clark").Replace("interval: 2s", "cron: \"every day\"").Replace("verify: { standardWebhooks: \"${SECRET}\" }", "verify: { standardWebhooks: \"not-a-secret\" }");

        var errors = Errors(yaml);

        Assert.Contains(errors, e => e.Path == "sources.clerk-permits.from" && e.Line == 7 && e.Message.Contains("unknown system 'clark'"));
        Assert.Contains(errors, e => e.Path == "sources.clerk-permits.cron" && e.Message.Contains("not a cron expression"));
        Assert.Contains(errors, e => e.Path == "sources.marshal-hooks.verify.standardWebhooks" && e.Message.Contains("whsec_"));
    }

    private static IReadOnlyList<ConfigError> ErrorsFromFile(string yaml, out string path)
    {
        using var folder = new TempFolder();
        path = Path.Combine(folder.Path, "lockstep.yaml");
        File.WriteAllText(path, yaml);
        var loader = new ConfigLoader(Lockstep.Host.LockstepServiceCollectionExtensions.ConnectorFactories, name => Env.GetValueOrDefault(name));
        var file = path;
        return Assert.Throws<ConfigException>(() => loader.Load(file)).Errors;
    }

    [Theory]
    [InlineData("verify: {}")]
    [InlineData("verify: { tolerance: 10m }")]
    [InlineData("verify: { standardWebhooks: [] }")]
    [InlineData("verify: { standardWebhooks: ~ }")]
    [InlineData("verify: { hmac: { header: X-Sig, secrets: [] } }")]
    public void A_verify_block_that_names_no_secret_is_refused(string verify)
    {
        var errors = ErrorsFromFile(Base.Replace("verify: { standardWebhooks: \"${SECRET}\" }", verify), out var path);

        var error = Assert.Single(errors);
        Assert.Equal(17, error.Line);
        Assert.StartsWith("sources.marshal-hooks.verify", error.Path);
        Assert.StartsWith($"{path}:17: sources.marshal-hooks.verify", error.ToString());
        Assert.Contains(errors, e => e.Message.Contains("verify: none") || e.Message.Contains("needs 'secret'"));
    }

    [Theory]
    [InlineData("verify: { hmac: { secret: \"\" } }", "must not be empty")]
    [InlineData("verify: { standardWebhooks: \"whsec_    \" }", "whsec_")]
    [InlineData("verify: off", "must be 'none'")]
    public void A_verify_block_whose_secret_is_known_to_everyone_is_refused(string verify, string message)
    {
        var errors = ErrorsFromFile(Base.Replace("verify: { standardWebhooks: \"${SECRET}\" }", verify), out _);

        var error = Assert.Single(errors);
        Assert.Equal(17, error.Line);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Verify_none_is_the_one_way_to_accept_unsigned_pushes()
    {
        var config = TestEngine.Load(Base.Replace("verify: { standardWebhooks: \"${SECRET}\" }", "verify: none"), "/tmp", Env);

        var verification = config.Sources.Single(s => s.Kind == SourceKind.Webhook).Verification!;
        Assert.True(verification.None);
        Assert.Null(WebhookCheck.Verify(verification, _ => null, "{}"u8, DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void Reconcile_needs_a_read_operation_and_schedules_a_known_target()
    {
        var yaml = Base.Replace("    get: GET /inspections/{key}\n", "") + "\nschedules:\n  x: { run: nothing, interval: 1m }\n";

        var errors = Errors(yaml);

        Assert.Contains(errors, e => e.Path == "flows.permits-to-marshal.reconcile" && e.Message.Contains("needs a 'list' operation") && e.Message.Contains("or a 'get' operation"));
        Assert.Contains(errors, e => e.Path == "schedules.x.run" && e.Message.Contains("neither a flow nor a poll source"));
    }

    [Fact]
    public void Sql_poll_needs_a_sql_system_and_delete_extra_needs_a_list()
    {
        var errors = Errors(Base.Replace("type: http-poll", "type: sql-poll").Replace("deleteExtra: false", "deleteExtra: true"));

        Assert.Contains(errors, e => e.Path == "sources.clerk-permits.from" && e.Message.Contains("not a postgres, mysql or sqlite system"));
        Assert.Contains(errors, e => e.Path == "flows.permits-to-marshal.reconcile.deleteExtra" && e.Line == 25 && e.Message.Contains("needs a 'list' operation"));
    }

    [Fact]
    public void List_needs_a_key_field_and_deleting_extras_needs_a_delete()
    {
        var yaml = Base.Replace("    get: GET /inspections/{key}\n", "    list: GET /inspections?page={page}\n").Replace("deleteExtra: false", "deleteExtra: true");

        var errors = Errors(yaml);

        Assert.Contains(errors, e => e.Path == "flows.permits-to-marshal.listKey" && e.Line == 21 && e.Message.Contains("is required with 'list'"));
        Assert.Contains(errors, e => e.Path == "flows.permits-to-marshal.reconcile" && e.Message.Contains("deleteExtra needs a 'delete' operation"));
        Assert.Equal(2, errors.Count);
    }

    [Fact]
    public void List_paging_placeholders_are_checked()
    {
        var errors = Errors(Base.Replace("    get: GET /inspections/{key}\n", "    list: GET /inspections?page={page}&from={offset}\n    listKey: permitId\n"));
        var unknown = Errors(Base.Replace("    get: GET /inspections/{key}\n", "    list: GET /inspections/{key}\n    listKey: permitId\n"));
        var stray = Errors(Base.Replace("reconcile:", "listKey: permitId\n    reconcile:"));

        Assert.Contains(errors, e => e.Path == "flows.permits-to-marshal.list" && e.Line == 24 && e.Message.Contains("one paging placeholder"));
        Assert.Contains(unknown, e => e.Path == "flows.permits-to-marshal.list" && e.Message.Contains("unknown placeholder {key}"));
        Assert.Contains(stray, e => e.Path == "flows.permits-to-marshal.listKey" && e.Message.Contains("only applies with 'list'"));
    }

    [Fact]
    public void Vanished_is_delete_report_or_ignore()
    {
        var config = TestEngine.Load(Base.Replace("overlap: 5s", "overlap: 5s\n    vanished: delete"), "/tmp", Env);
        var errors = Errors(Base.Replace("overlap: 5s", "overlap: 5s\n    vanished: remove"));

        Assert.Equal(VanishedPolicy.Delete, config.Sources.Single(s => s.Kind == SourceKind.HttpPoll).Vanished);
        Assert.Contains(errors, e => e.Path == "sources.clerk-permits.vanished" && e.Line == 15 && e.Message.Contains("'remove' is not one of delete, report, ignore"));
    }

    [Fact]
    public void A_flow_with_list_reconciles_by_list()
    {
        var config = TestEngine.Load(Base.Replace("    get: GET /inspections/{key}\n", "    list: GET /inspections?offset={offset}&limit=50\n    listKey: permitId\n    delete: DELETE /inspections/{key}\n")
            .Replace("deleteExtra: false", "deleteExtra: true, maxPages: 20"), "/tmp", Env);

        var reconcile = config.Flows[0].Reconcile!;
        Assert.Equal((true, true, 20), (reconcile.List, reconcile.DeleteExtra, reconcile.MaxPages));
    }
}
