using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Sync;

/// <summary>
/// Two-way sync between the clerk (polled) and the marshal (webhooks back), through the real host and journal: no
/// echo ping-pong, and each conflict policy on a record both sides changed since the last synced base.
/// </summary>
public sealed class TwoWaySyncTests
{
    private static bool MarshalHas(TwoWayWorld w, string id, string status) => w.Marshal.Get(id)?["status"]?.GetValue<string>() == status;

    private static bool ClerkHas(TwoWayWorld w, string id, string status) => w.Clerk.Get(id) is { Deleted: false } p && p.Status == status;

    [Fact]
    public async Task Each_side_receives_exactly_the_other_sides_changes_and_nothing_echoes_back()
    {
        await using var w = await TwoWayWorld.StartAsync("manual");
        const int n = 5;

        for (var i = 1; i <= n; i++) w.Clerk.Change($"P-{i}", "filed");
        await w.SettleAsync(() => Enumerable.Range(1, n).All(i => MarshalHas(w, $"P-{i}", "filed")), "the marshal has the clerk's permits");
        // Lockstep's writes are committed before the marshal edits: an edit racing a write's commit counts as a conflict.
        await w.QuiesceAsync();
        for (var i = 1; i <= n; i++) await w.Marshal.EditAsync($"P-{i}", o => o["status"] = "inspected");
        await w.SettleAsync(() => Enumerable.Range(1, n).All(i => ClerkHas(w, $"P-{i}", "inspected")), "the clerk has the marshal's changes");
        await w.QuiesceAsync();
        var conflicts = await w.GetJsonAsync("/api/conflicts?all=true");
        var history = await w.GetJsonAsync("/api/records/permit/P-1/history");

        Assert.Equal(Enumerable.Range(1, n).Select(i => $"PUT P-{i}").Order(), w.Marshal.Writes.Select(Head).Order());
        Assert.All(w.Marshal.Writes, write => Assert.Contains("\"status\":\"filed\"", write, StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(1, n).Select(i => $"PUT P-{i}").Order(), w.Clerk.Writes.Select(Head).Order());
        Assert.All(w.Clerk.Writes, write => Assert.Contains("\"status\":\"inspected\"", write, StringComparison.Ordinal));
        Assert.Equal(0, conflicts.GetArrayLength());
        Assert.Contains(history.GetProperty("versions").EnumerateArray(), v => v.GetProperty("status").GetString() == "echo");
        Assert.Equal(0, (await w.StatusAsync()).GetProperty("pairs").GetProperty("permits-clerk-marshal").GetProperty("openConflicts").GetInt64());
    }

    private static string Head(string write) => string.Join(' ', write.Split(' ').Take(2));

    /// <summary>P-1 synced; then the clerk revokes it while the marshal is down, and the marshal's inspector passes it.</summary>
    private static async Task ConflictAsync(TwoWayWorld w, bool clerkDeletes = false)
    {
        w.Clerk.Change("P-1", "approved");
        await w.SettleAsync(() => MarshalHas(w, "P-1", "approved"), "P-1 at the marshal");
        await w.QuiesceAsync();
        w.Marshal.Down = true;
        if (clerkDeletes) w.Clerk.Delete("P-1");
        else w.Clerk.Change("P-1", "revoked");
        await Eventually.AdvanceUntilAsync(w.Time, TimeSpan.FromSeconds(1), async () =>
            (await w.StatusAsync()).GetProperty("flows").GetProperty("permits-to-marshal").TryGetProperty("lastError", out var e) && e.ValueKind == JsonValueKind.String,
            "the clerk's change failed to reach the marshal", w.Committed);
        await w.Marshal.EditAsync("P-1", o =>
        {
            o["status"] = "passed";
            o["updatedAt"] = "2099-01-01T00:00:00.000Z";
        });
        w.Marshal.Down = false;
    }

    private static async Task<JsonElement> OnlyConflictAsync(TwoWayWorld w)
    {
        var all = await w.GetJsonAsync("/api/conflicts?all=true");
        Assert.True(all.GetArrayLength() == 1, $"expected one conflict: {all}");
        return all[0];
    }

    [Fact]
    public async Task Source_wins_overrules_the_marshals_change()
    {
        await using var w = await TwoWayWorld.StartAsync("sourceWins");

        await ConflictAsync(w);
        await w.SettleAsync(() => MarshalHas(w, "P-1", "revoked"), "the clerk's change reaches the marshal");
        await w.QuiesceAsync();
        var conflict = await OnlyConflictAsync(w);

        Assert.True(ClerkHas(w, "P-1", "revoked"));
        Assert.Empty(w.Clerk.Writes);
        Assert.Equal(("source", "policy", "sourceWins"), (conflict.GetProperty("outcome").GetString(), conflict.GetProperty("resolvedBy").GetString(), conflict.GetProperty("policy").GetString()));
        Assert.Contains("revoked", conflict.GetProperty("source").GetString(), StringComparison.Ordinal);
        Assert.Contains("passed", conflict.GetProperty("target").GetString(), StringComparison.Ordinal);
        Assert.Contains("approved", conflict.GetProperty("base").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Target_wins_sends_the_marshals_change_to_the_clerk_and_drops_the_pending_one()
    {
        await using var w = await TwoWayWorld.StartAsync("targetWins");

        await ConflictAsync(w);
        await w.SettleAsync(() => ClerkHas(w, "P-1", "passed"), "the marshal's change reaches the clerk");
        await w.QuiesceAsync();
        var conflict = await OnlyConflictAsync(w);

        Assert.True(MarshalHas(w, "P-1", "passed"));
        Assert.Equal(["PUT P-1"], w.Marshal.Writes.Select(Head));
        Assert.Equal(["PUT P-1"], w.Clerk.Writes.Select(Head));
        Assert.Equal("target", conflict.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Last_writer_wins_by_the_timestamp_field()
    {
        await using var w = await TwoWayWorld.StartAsync("lastWriterWins");

        await ConflictAsync(w);   // the marshal's updatedAt (2099) is later than the clerk's
        await w.SettleAsync(() => ClerkHas(w, "P-1", "passed"), "the later change reaches the clerk");
        await w.QuiesceAsync();
        var conflict = await OnlyConflictAsync(w);

        Assert.True(MarshalHas(w, "P-1", "passed"));
        Assert.Equal("target", conflict.GetProperty("outcome").GetString());
        Assert.Equal("lastWriterWins", conflict.GetProperty("policy").GetString());
    }

    /// <summary>P-1 synced to both sides, then the clerk moves it while the marshal is down (its delivery has failed).</summary>
    private static async Task ClerkMovesWhileTheMarshalIsDownAsync(TwoWayWorld w)
    {
        w.Clerk.Change("P-1", "approved");
        await w.SettleAsync(() => MarshalHas(w, "P-1", "approved"), "P-1 at the marshal");
        await w.QuiesceAsync();
        w.Marshal.Down = true;
        w.Clerk.Change("P-1", "approved", location: "2 Oak Ave");
        await Eventually.AdvanceUntilAsync(w.Time, TimeSpan.FromSeconds(1), async () =>
            (await w.StatusAsync()).GetProperty("flows").GetProperty("permits-to-marshal").TryGetProperty("lastError", out var e) && e.ValueKind == JsonValueKind.String,
            "the clerk's change failed to reach the marshal", w.Committed);
    }

    [Fact]
    public async Task Merge_takes_fields_changed_on_one_side_from_that_side()
    {
        await using var w = await TwoWayWorld.StartAsync("merge");
        await ClerkMovesWhileTheMarshalIsDownAsync(w);
        await w.Marshal.EditAsync("P-1", o => o["status"] = "passed");
        w.Marshal.Down = false;
        await w.SettleAsync(() => ClerkHas(w, "P-1", "passed") && w.Marshal.Get("P-1")?["address"]?.GetValue<string>() == "2 Oak Ave", "both sides merged");
        await w.QuiesceAsync();
        var conflict = await OnlyConflictAsync(w);

        Assert.Equal("2 Oak Ave", w.Clerk.Get("P-1")!.Location);
        Assert.True(MarshalHas(w, "P-1", "passed"));
        Assert.Equal("merged", conflict.GetProperty("outcome").GetString());
        using var result = JsonDocument.Parse(conflict.GetProperty("result").GetString()!);
        Assert.Equal(("2 Oak Ave", "passed"), (result.RootElement.GetProperty("location").GetString(), result.RootElement.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_merge_the_clerk_reports_back_before_its_delivery_is_committed_is_an_echo_not_a_second_conflict()
    {
        await using var w = await TwoWayWorld.StartAsync("merge");
        await ClerkMovesWhileTheMarshalIsDownAsync(w);
        w.Clerk.HoldWrites();
        await w.Marshal.EditAsync("P-1", o => o["status"] = "passed");
        w.Marshal.Down = false;

        // The clerk has applied the merged record (stamping its own updatedAt) but has not answered the PUT yet.
        await w.SettleAsync(() => ClerkHas(w, "P-1", "passed"), "the merge applied at the clerk");
        var reported = w.Clerk.Get("P-1")!.UpdatedAt.ToUnixTimeMilliseconds();
        await Eventually.AdvanceUntilAsync(w.Time, TimeSpan.FromSeconds(1), async () =>
            (await w.GetJsonAsync("/api/records/permit/P-1/history")).GetProperty("versions").EnumerateArray().Any(v => v.GetProperty("version").GetInt64() == reported),
            "a poll reads the clerk's copy of the merge");
        w.Clerk.ReleaseWrites();
        await w.QuiesceAsync();
        var conflict = await OnlyConflictAsync(w);
        var history = await w.GetJsonAsync("/api/records/permit/P-1/history");

        Assert.Equal("merged", conflict.GetProperty("outcome").GetString());
        Assert.Equal("echo", history.GetProperty("versions").EnumerateArray().Single(v => v.GetProperty("version").GetInt64() == reported).GetProperty("status").GetString());
        Assert.Equal(["PUT P-1"], w.Clerk.Writes.Select(Head));
        Assert.Equal(("2 Oak Ave", "passed"), (w.Clerk.Get("P-1")!.Location, w.Clerk.Get("P-1")!.Status));
        Assert.Equal(("2 Oak Ave", "passed"), (w.Marshal.Get("P-1")!["address"]!.GetValue<string>(), w.Marshal.Get("P-1")!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Merge_falls_back_to_its_policy_for_a_field_changed_on_both_sides()
    {
        await using var w = await TwoWayWorld.StartAsync("merge", fallback: "targetWins");

        await ConflictAsync(w);   // status changed on both sides
        await w.SettleAsync(() => ClerkHas(w, "P-1", "passed"), "the target's status reaches the clerk");
        await w.QuiesceAsync();
        var conflict = await OnlyConflictAsync(w);

        Assert.True(MarshalHas(w, "P-1", "passed"));
        Assert.Equal("merged", conflict.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Manual_parks_the_record_until_an_operator_resolves_it_through_the_api()
    {
        await using var w = await TwoWayWorld.StartAsync("manual");

        await ConflictAsync(w);
        await Eventually.AdvanceUntilAsync(w.Time, TimeSpan.FromSeconds(1), async () => (await w.GetJsonAsync("/api/conflicts")).GetArrayLength() == 1, "the conflict is listed", w.Committed);
        for (var i = 0; i < 5; i++) w.Time.Advance(TimeSpan.FromSeconds(2));   // retries would be due: held, nothing goes
        var open = (await w.GetJsonAsync("/api/conflicts"))[0];
        var status = await w.StatusAsync();
        var id = open.GetProperty("id").GetInt64();
        var writesBefore = (w.Marshal.Writes.Count, w.Clerk.Writes.Count);
        using var resolve = await w.Http.PostAsJsonAsync($"/api/conflicts/{id}/resolve", new { take = "target" });
        using var again = await w.Http.PostAsJsonAsync($"/api/conflicts/{id}/resolve", new { take = "source" });
        await w.SettleAsync(() => ClerkHas(w, "P-1", "passed"), "the chosen record reaches the clerk");
        await w.QuiesceAsync();
        var settled = await OnlyConflictAsync(w);
        var audit = await w.GetJsonAsync("/api/audit");

        Assert.Equal("open", open.GetProperty("outcome").GetString());
        Assert.Equal((1, 0), writesBefore);   // the clerk's revocation never reached the marshal
        Assert.Equal(1, status.GetProperty("pairs").GetProperty("permits-clerk-marshal").GetProperty("openConflicts").GetInt64());
        Assert.Equal(HttpStatusCode.OK, resolve.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.True(MarshalHas(w, "P-1", "passed"));
        Assert.DoesNotContain(w.Marshal.Writes, write => write.Contains("revoked", StringComparison.Ordinal));
        Assert.Equal(("target", "anonymous"), (settled.GetProperty("outcome").GetString(), settled.GetProperty("resolvedBy").GetString()));
        Assert.Contains(audit.EnumerateArray(), a => a.GetProperty("action").GetString() == "resolve conflict" && a.GetProperty("actor").GetString() == "anonymous");
        Assert.Equal(0, (await w.GetJsonAsync("/api/conflicts")).GetArrayLength());
    }

    [Fact]
    public async Task A_conflict_parked_for_an_operator_is_notified()
    {
        var notices = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var arrived = new Signal();
        await using var hook = await PartnerServer.StartAsync(app => app.MapPost("/notify", async (HttpContext context) =>
        {
            notices.Enqueue(await new StreamReader(context.Request.Body).ReadToEndAsync());
            arrived.Pulse();
            return Results.NoContent();
        }));
        await using var w = await TwoWayWorld.StartAsync("manual", notifyUrl: hook.Url + "/notify");

        await ConflictAsync(w);
        await Eventually.AdvanceUntilAsync(w.Time, TimeSpan.FromSeconds(1), () => Task.FromResult(!notices.IsEmpty), "a conflict notice", arrived);
        var id = (await w.GetJsonAsync("/api/conflicts"))[0].GetProperty("id").GetInt64();

        var notice = Assert.Single(notices);
        Assert.Contains("\"permits-clerk-marshal\":{\"counts\":{\"conflicts waiting\":1}", notice, StringComparison.Ordinal);
        Assert.Contains($"permits-clerk-marshal: permit/P-1 (conflict {id}, policy manual)", notice, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleted_at_the_clerk_while_updated_at_the_marshal_is_a_conflict_resolved_with_the_cli()
    {
        await using var w = await TwoWayWorld.StartAsync("manual");

        await ConflictAsync(w, clerkDeletes: true);
        await Eventually.AdvanceUntilAsync(w.Time, TimeSpan.FromSeconds(1), async () => (await w.GetJsonAsync("/api/conflicts")).GetArrayLength() == 1, "the conflict is listed", w.Committed);
        var open = (await w.GetJsonAsync("/api/conflicts"))[0];
        var listed = await LockstepProcess.RunAsync(["conflicts", "--json", "--url", w.Http.BaseAddress!.ToString()]);
        var resolved = await LockstepProcess.RunAsync(["conflicts", "resolve", open.GetProperty("id").ToString(), "--take", "source", "--url", w.Http.BaseAddress!.ToString()]);
        await w.SettleAsync(() => w.Marshal.Get("P-1") is null, "the deletion reaches the marshal");
        await w.QuiesceAsync();

        Assert.True(open.GetProperty("sourceDeleted").GetBoolean());
        Assert.Contains("passed", open.GetProperty("target").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, listed.ExitCode);
        Assert.Contains("\"key\": \"P-1\"", listed.Output, StringComparison.Ordinal);
        Assert.Equal((0, $"conflict {open.GetProperty("id")} (permit/P-1): source"), (resolved.ExitCode, resolved.Output.Trim()));
        Assert.Contains("DELETE P-1", w.Marshal.Writes);
        Assert.True(w.Clerk.Get("P-1")!.Deleted);
    }
}
