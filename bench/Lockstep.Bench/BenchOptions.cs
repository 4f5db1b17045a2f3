using System.Globalization;

namespace Lockstep.Bench;

/// <summary>Command-line settings; every size and time bound of every scenario is here, with the defaults of the issue.</summary>
internal sealed record BenchOptions
{
    public static readonly string[] AllScenarios = ["intake", "delivery", "latency", "backlog", "reconcile", "poll", "postgres", "brokers", "connectors", "degraded"];

    public IReadOnlyList<string> Scenarios { get; init; } = ["intake", "delivery", "latency", "backlog", "reconcile", "poll"];

    /// <summary>Folder for the journal files; a fresh subfolder is made per run and removed at the end (unless --keep-data).</summary>
    public string DataRoot { get; init; } = Path.GetTempPath();

    public bool KeepData { get; init; }

    // (1) intake
    public int IntakeEvents { get; init; } = 200_000;
    public int Publishers { get; init; } = 8;
    public int BatchSize { get; init; } = 100;

    // (2) delivery
    public int Records { get; init; } = 20_000;
    public int Concurrency { get; init; } = 20;
    public int Warmup { get; init; } = 5_000;
    public string? HangfireDir { get; init; }
    public string? HangfirePg { get; init; }
    public int HangfirePgRecords { get; init; } = 2_000;

    // (3) latency
    public int Rate { get; init; } = 2_000;
    public double Seconds { get; init; } = 10;

    // (4) backlog
    public int Backlog { get; init; } = 1_000_000;
    public double DrainTimeoutSeconds { get; init; } = 1_200;

    // (5) reconcile
    public int ReconcileRecords { get; init; } = 100_000;
    public int ReconcileRate { get; init; } = 100_000;

    // (6) poll
    public int PollItems { get; init; } = 100_000;
    public int PollPageSize { get; init; } = 1_000;

    // (7) postgres
    public string? Postgres { get; init; }

    /// <summary>An Npgsql connection string: the delivery scenario keeps its journal in PostgreSQL (a fresh schema per run).</summary>
    public string? JournalPg { get; init; }

    // (8) brokers: the URLs of the brokers to measure (an AMQP URL holds a password: it is never printed)
    public string? Nats { get; init; }
    public string? Amqp { get; init; }
    public string? Mqtt { get; init; }

    // (9) connectors: a Radicale (or other CalDAV) server root; user and password come from the environment
    public string? CalDav { get; init; }
    public int CalDavRecords { get; init; } = 2_000;

    /// <summary>Diagnostics only: run the engine with <c>delivery.completionEvents: false</c> (the default is on, as shipped).</summary>
    public bool NoCompletionEvents { get; init; }

    /// <summary>Completion events forced on (before they were made only when a flow takes them: the old default).</summary>
    public bool CompletionEvents { get; init; }

    /// <summary>Where to write the results table besides standard output.</summary>
    public string? MarkdownOut { get; init; }

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            int NextInt() => int.Parse(Next().Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
            double NextDouble() => double.Parse(Next(), CultureInfo.InvariantCulture);
            o = name switch
            {
                "--scenarios" => o with { Scenarios = ParseScenarios(Next()) },
                "--data" => o with { DataRoot = Next() },
                "--keep-data" => o with { KeepData = true },
                "--intake-events" => o with { IntakeEvents = NextInt() },
                "--publishers" => o with { Publishers = NextInt() },
                "--batch" => o with { BatchSize = NextInt() },
                "--records" => o with { Records = NextInt() },
                "--concurrency" => o with { Concurrency = NextInt() },
                "--warmup" => o with { Warmup = NextInt() },
                "--hangfire" => o with { HangfireDir = Next() },
                "--hangfire-pg" => o with { HangfirePg = Next() },
                "--hangfire-pg-records" => o with { HangfirePgRecords = NextInt() },
                "--rate" => o with { Rate = NextInt() },
                "--seconds" => o with { Seconds = NextDouble() },
                "--backlog" => o with { Backlog = NextInt() },
                "--drain-timeout" => o with { DrainTimeoutSeconds = NextDouble() },
                "--reconcile-records" => o with { ReconcileRecords = NextInt() },
                "--reconcile-rate" => o with { ReconcileRate = NextInt() },
                "--poll-items" => o with { PollItems = NextInt() },
                "--poll-page" => o with { PollPageSize = NextInt() },
                "--markdown" => o with { MarkdownOut = Next() },
                "--pg" => o with { Postgres = Next() },
                "--journal-pg" => o with { JournalPg = Next() },
                "--nats" => o with { Nats = Next() },
                "--amqp" => o with { Amqp = Next() },
                "--mqtt" => o with { Mqtt = Next() },
                "--caldav" => o with { CalDav = Next() },
                "--caldav-records" => o with { CalDavRecords = NextInt() },
                "--no-completion-events" => o with { NoCompletionEvents = true },
                "--completion-events" => o with { CompletionEvents = true },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }
        return o;
    }

    private static string[] ParseScenarios(string text)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var n in names)
        {
            if (!AllScenarios.Contains(n, StringComparer.Ordinal))
                throw new ArgumentException($"unknown scenario '{n}' (known: {string.Join(", ", AllScenarios)})");
        }
        return names;
    }

    public const string Usage = """
        Lockstep.Bench [options]
          --scenarios LIST        intake,delivery,latency,backlog,reconcile,poll (default), postgres (needs --pg),
                                  brokers (needs --nats, --amqp and/or --mqtt), connectors (http batched, file, webhook;
                                  caldav with --caldav)
          --data DIR              where journal files go (default: the temp folder); removed afterwards unless --keep-data
          --intake-events N       (1) events published (default 200000)
          --publishers N          (1)(4) concurrent publishers (default 8)
          --batch N               (1)(2)(4) events per publish call (default 100)
          --records N             (2) records delivered (default 20000)
          --concurrency N         (2)(3)(4) system concurrency / HttpClient workers / Hangfire workers (default 20)
          --warmup N              (2) records delivered first, unmeasured, by the engine and the plain loop (default 5000)
          --hangfire DIR          (2) a built copy of the Hangfire peer (bench/run.sh makes one); without it the peer is skipped
          --hangfire-pg CONN      (2) also run the peer on PostgreSQL storage with this connection string
          --hangfire-pg-records N (2) records for the PostgreSQL run (default 2000)
          --rate N                (3) events per second (default 2000)
          --seconds S             (3) how long (default 10)
          --backlog N             (4) pending deliveries (default 1000000)
          --drain-timeout S       (4) give up draining after S seconds (default 1200)
          --reconcile-records N   (5) records delivered, 1 % then changed and 1 % removed at the target, reconciled (default 100000)
          --reconcile-rate N      (5) the flow's reconcile.readsPerSecond pacing (default 100000, the config maximum)
          --poll-items N          (6) items the clerk serves to the http-poll source (default 100000)
          --poll-page N           (6) items per page, the rest behind a Link rel="next" header (default 1000)
          --pg CONN               (7) a PostgreSQL+PostGIS connection string for the postgres connector scenario
          --journal-pg CONN       (2) the delivery scenario's journal in PostgreSQL (an Npgsql connection string)
          --nats URL              (8) a nats-server with JetStream (nats://host:4222) for the brokers scenario
          --amqp URL              (8) a RabbitMQ (amqp://user:password@host:5672/) for the brokers scenario
          --mqtt URL              (8) an MQTT 5 broker (mqtt://host:1883) for the brokers scenario
          --caldav URL            (9) a CalDAV server root (http://host:5232/) for the connectors scenario; user and password
                                  from LOCKSTEP_BENCH_CALDAV_USER/_PASSWORD (else LOCKSTEP_TEST_CALDAV_USER/_PASSWORD)
          --caldav-records N      (9) records for CalDAV (default 2000: Radicale writes one file per event, slowly)
          --markdown FILE         also write the results table to FILE
          --no-completion-events  engine without syncCompleted events (shipped default: only when a flow takes them;
                                  the bench's flows do not, so this is the default here)
          --completion-events     syncCompleted events made although no flow takes them (the default before)
        """;
}
