using Lockstep.Conflicts;

namespace Lockstep.Tests.Sync;

public sealed class ConflictRulesTests
{
    private static SyncPair Pair(ConflictPolicy policy, ConflictPolicy fallback = ConflictPolicy.SourceWins) =>
        new("p", new HashSet<string> { "permit" }, new PairSide("source", "clerk", ["in"], "to-clerk"), new PairSide("target", "marshal", ["hooks"], "to-marshal"),
            policy, new Dictionary<string, ConflictPolicy>(), "updatedAt", fallback, 1);

    [Fact]
    public void Last_writer_wins_breaks_a_tie_for_the_source()
    {
        var decision = ConflictRules.Decide(Pair(ConflictPolicy.LastWriterWins), "permit", null,
            """{"status":"a","updatedAt":"2026-01-01T00:00:00Z"}""", false, """{"status":"b","updatedAt":"2026-01-01T00:00:00Z"}""", false);

        Assert.Equal("source", decision.Outcome);
        Assert.Contains("ties", decision.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Last_writer_wins_takes_the_later_timestamp_and_a_side_without_one_loses()
    {
        var later = ConflictRules.Decide(Pair(ConflictPolicy.LastWriterWins), "permit", null,
            """{"updatedAt":"2026-01-01T00:00:00Z"}""", false, """{"updatedAt":"2026-01-02T00:00:00Z"}""", false);
        var missing = ConflictRules.Decide(Pair(ConflictPolicy.LastWriterWins), "permit", null, """{"status":"a"}""", false, """{"updatedAt":1}""", false);

        Assert.Equal("target", later.Outcome);
        Assert.Equal("target", missing.Outcome);
    }

    [Fact]
    public void Merge_takes_each_sides_own_changes_and_falls_back_per_field()
    {
        const string b = """{"a":1,"b":1,"c":1,"gone":1}""";
        var decision = ConflictRules.Decide(Pair(ConflictPolicy.Merge, ConflictPolicy.TargetWins), "permit", b,
            """{"a":2,"b":1,"c":5,"gone":1}""", false, """{"a":1,"b":3,"c":6}""", false);

        Assert.Equal("merged", decision.Outcome);
        Assert.True(RecordJson.Covers(decision.Data!, """{"a":2,"b":3,"c":6}"""));
        Assert.False(decision.Data!.Contains("gone", StringComparison.Ordinal));
    }

    [Fact]
    public void Merge_with_a_manual_fallback_parks_the_record_and_a_delete_never_merges()
    {
        var manual = ConflictRules.Decide(Pair(ConflictPolicy.Merge, ConflictPolicy.Manual), "permit", """{"a":1}""", """{"a":2}""", false, """{"a":3}""", false);
        var deleted = ConflictRules.Decide(Pair(ConflictPolicy.Merge, ConflictPolicy.SourceWins), "permit", """{"a":1}""", null, true, """{"a":3}""", false);

        Assert.Equal("open", manual.Outcome);
        Assert.Equal(("source", true), (deleted.Outcome, deleted.Deleted));
    }

    [Fact]
    public void Record_hash_ignores_property_order()
    {
        Assert.Equal(RecordJson.Hash("""{"a":1,"b":{"y":2,"x":1}}"""), RecordJson.Hash("""{"b":{"x":1,"y":2},"a":1}"""));
        Assert.NotEqual(RecordJson.Hash("""{"a":1}"""), RecordJson.Hash("""{"a":2}"""));
    }
}
