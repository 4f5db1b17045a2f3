using Lockstep.Configuration;
using Lockstep.Conflicts;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Sync;

public sealed class SyncConfigTests
{
    private static string Yaml(string pair)
    {
        var yaml = TwoWayWorld.Yaml.Replace("CLERK_URL", "http://127.0.0.1:1").Replace("MARSHAL_URL", "http://127.0.0.1:2");
        return yaml[..yaml.IndexOf("sync:", StringComparison.Ordinal)] + pair;
    }

    private static LockstepConfig Load(string yaml)
    {
        using var folder = new TempFolder();
        return TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["MARSHAL_WEBHOOK_SECRET"] = "whsec_" + Convert.ToBase64String(new byte[24]) });
    }

    [Fact]
    public void A_pair_binds_sources_and_flows_of_both_sides_with_policies_per_entity()
    {
        var config = Load(Yaml("""
            sync:
              clerk-marshal:
                entity: permit
                source: { from: [clerk-permits], to: permits-to-clerk }
                target: { system: marshal, from: marshal-hooks, to: permits-to-marshal }
                policy: { permit: merge, default: manual }
                fallback: targetWins
            """));

        var pair = Assert.Single(config.Sync);
        Assert.Equal(("clerk", "permits-to-clerk", "marshal-hooks"), (pair.Source.System, pair.Source.Flow, pair.Target.Sources[0]));
        Assert.Equal((ConflictPolicy.Merge, ConflictPolicy.Manual, ConflictPolicy.TargetWins), (pair.PolicyFor("permit"), pair.Policy, pair.Fallback));
    }

    [Fact]
    public void A_side_named_by_its_system_finds_its_flow_and_poll_sources()
    {
        var config = Load(Yaml("""
            sync:
              clerk-marshal:
                entity: permit
                source: clerk
                target: { from: marshal-hooks, to: permits-to-marshal }
            """));

        Assert.Equal(("permits-to-clerk", "clerk-permits"), (config.Sync[0].Source.Flow, config.Sync[0].Source.Sources[0]));
    }

    [Fact]
    public void Mistakes_are_reported_with_line_and_key()
    {
        var error = Assert.Throws<ConfigException>(() => Load(Yaml("""
            sync:
              clerk-marshal:
                entity: permit
                source: { from: [nowhere], to: permits-to-clerk }
                target: { from: marshal-hooks, to: permits-to-clerk }
                policy: newestWins
              again:
                entity: permit
                source: marshal
                target: { from: marshal-hooks, to: permits-to-marshal }
                policy: lastWriterWins
            """)));
        var text = error.Message;

        Assert.Contains("sync.clerk-marshal.source.from: unknown source 'nowhere'", text, StringComparison.Ordinal);
        Assert.Contains("sync.clerk-marshal.target: writes through the same flow as the source side ('permits-to-clerk')", text, StringComparison.Ordinal);
        Assert.Contains("sync.clerk-marshal.policy: 'newestWins' is not a policy", text, StringComparison.Ordinal);
        Assert.Contains("sync.again.source: no poll source reads from system 'marshal'", text, StringComparison.Ordinal);
        Assert.Contains("sync.again.timestampField: is required by lastWriterWins", text, StringComparison.Ordinal);
        Assert.Matches(@"lockstep\.yaml:\d+: sync\.clerk-marshal\.policy", text);
    }
}
