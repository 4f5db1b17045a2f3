using Lockstep.Tests.Support;

namespace Lockstep.Tests.EndToEnd;

/// <summary>The runnable examples, run as their README says (ports aside): each checks its own outcome and exits 0.</summary>
public sealed class ExampleTests
{
    // tests/Lockstep.Tests/bin/CONFIGURATION/net10.0/ -> the repository root and the configuration the suite was built in.
    private static readonly DirectoryInfo Bin = new(AppContext.BaseDirectory);
    private static readonly string Root = Bin.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
    private static readonly string Configuration = Bin.Parent!.Name;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Permit_clerk_marshal_converges_verifies_webhooks_and_repairs_drift(bool fluent)
    {
        var dll = Path.Combine(Root, "examples", "permit-clerk-marshal", "bin", Configuration, "net10.0", "PermitClerkMarshal.dll");
        string[] arguments = ["--clerk-port", LockstepProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--marshal-port", LockstepProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture)];

        var (code, output) = await LockstepProcess.RunProgramAsync(dll, fluent ? [.. arguments, "--fluent"] : arguments);

        Assert.True(code == 0, output);
        Assert.Contains("OK: the marshal equals the clerk, webhooks verified, drift repaired", output, StringComparison.Ordinal);
        Assert.Contains("\"missing\":1,\"different\":2", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aid_relay_batches_and_encrypts_as_its_readme_says()
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(Root, "examples", "aid-relay", "run.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, await output + await errors);
        Assert.Contains("OK: 1000 shipments delivered in", await output, StringComparison.Ordinal);
    }
}
