namespace Lockstep.Connectors;

/// <summary>One step of a connection check: <c>ok</c>, <c>failed</c>, or <c>unknown</c> when the system does not tell.</summary>
public sealed record CheckStep(string Name, string Result, string Detail)
{
    public const string Ok = "ok";
    public const string Failed = "failed";
    public const string Unknown = "unknown";

    /// <summary>An exception with every inner exception, outermost first: the SSL or socket reason behind "an error occurred".</summary>
    public static string Describe(Exception exception)
    {
        var parts = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException) parts.Add($"{e.GetType().Name}: {e.Message}");
        return string.Join(" ---> ", parts);
    }
}
