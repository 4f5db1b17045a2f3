using System.Diagnostics;

namespace Lockstep.Tests.Support;

/// <summary>
/// The real servers ./test.sh starts (tests/services.sh): connection settings from LOCKSTEP_TEST_* and a control script
/// per server to stop, kill and start it again. A test that needs a server fails loudly when it is not there.
/// </summary>
public static class TestServers
{
    public static string Postgres => Setting("LOCKSTEP_TEST_PG");

    public static string Amqp => Setting("LOCKSTEP_TEST_AMQP");

    public static string Nats => Setting("LOCKSTEP_TEST_NATS");

    public static string Mqtt => Setting("LOCKSTEP_TEST_MQTT");

    /// <summary>The MariaDB connection string (MySqlConnector syntax; database and user "lockstep").</summary>
    public static string MySql => Setting("LOCKSTEP_TEST_MYSQL");

    /// <summary>The Radicale base URL (ends with '/'); user and password from <see cref="CalDavUser"/>/<see cref="CalDavPassword"/>.</summary>
    public static string CalDav => Setting("LOCKSTEP_TEST_CALDAV");

    public static string CalDavUser => Setting("LOCKSTEP_TEST_CALDAV_USER");

    public static string CalDavPassword => Setting("LOCKSTEP_TEST_CALDAV_PASSWORD");

    /// <summary>Runs the server's control script: <c>stop</c> (clean), <c>kill</c> (crash) or <c>start</c>; returns when done.</summary>
    public static async Task ControlAsync(string server, string action)
    {
        var script = Setting($"LOCKSTEP_TEST_{server}_CTL");
        using var process = Process.Start(new ProcessStartInfo(script, action) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.StandardOutput.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0) throw new InvalidOperationException($"{script} {action} failed: {await error}");
    }

    private static string Setting(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value
            : throw new InvalidOperationException($"{name} is not set: run the tests through ./test.sh or tests/with-services.sh, which start the real servers");
}
