using System.Diagnostics;
using Xunit.Abstractions;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// A 100,000-run grid on a real node (SQLite journal, stand-in trainer): planned and journalled, listed a page at
/// a time, cancelled, and recovered by a fresh coordinator, each within a bound measured here (with a wide margin
/// for a loaded 2-core machine); no journal row is larger than a bounded chunk.
/// </summary>
public class LargeSweepTests(ITestOutputHelper output)
{
    static string Grid()
    {
        var budgets = string.Join(", ", Enumerable.Range(1, 50).Select(k => 320_000 + 24 * (16 * k) * (16 * k) + 100));
        var seeds = string.Join(", ", Enumerable.Range(0, 25));
        return $$"""
            sweep {
              name = big
              grid { layers = [1, 2], param-budgets = [{{budgets}}], relations = [2, 3, 4, 5, 6], n-profiles = [100, 200, 300, 400, 500, 600, 700, 800], orders = [[1]], seeds = [{{seeds}}] }
              vocab-size = 600
              batch-size = 4
              seq-len = 64
              max-steps = 1000000
            }
            """;
    }

    // the bound each step is held to below; the harness's default ask (20 s) is shorter than a loaded CI machine needs
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_100000_run_sweep_is_submitted_listed_cancelled_and_recovered_in_bounded_time()
    {
        using var dir = new TempDir();
        var sw = Stopwatch.StartNew();
        double submit, page, cancel, recover;
        await using (var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"), "actorlab.testing.stand-in-sweeps = [big]\nactorlab.gateway.submit-timeout = 120s", stepTime: TimeSpan.FromMilliseconds(50)))
        {
            await n.Ask<StatusReply>(new GetStatus());
            sw.Restart();
            var reply = await n.Ask<CommandReply>(new SubmitSweepFile("big.conf", Grid()), Bound);
            submit = sw.Elapsed.TotalSeconds;
            Assert.True(reply.Ok, reply.Message);
            Assert.Contains("100000 runs", reply.Message);

            sw.Restart();
            var last = await n.Ask<RunsReply>(new GetRuns("big", 99_900, 100));
            page = sw.Elapsed.TotalSeconds;
            Assert.Equal(100_000, last.Total);
            Assert.Equal(100, last.Runs.Length);

            sw.Restart();
            var cancelled = await n.Ask<CommandReply>(new CancelSweep("big"), Bound);
            cancel = sw.Elapsed.TotalSeconds;
            Assert.True(cancelled.Ok, cancelled.Message);
            await n.WaitFor(s => s.Sweeps.Single().Cancelled == 100_000, TimeSpan.FromMinutes(2));
        }
        sw.Restart();
        await using (var fresh = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"), "actorlab.testing.stand-in-sweeps = [big]"))
        {
            var status = await fresh.WaitFor(s => s.Sweeps.Length == 1, TimeSpan.FromMinutes(2));
            recover = sw.Elapsed.TotalSeconds;
            Assert.Equal(100_000, status.Sweeps[0].Cancelled);
        }
        output.WriteLine($"100,000 runs: submit {submit:F1} s, last page {page:F2} s, cancel {cancel:F1} s, restart + recovery {recover:F1} s");
        Assert.True(submit < 120 && page < 10 && cancel < 120 && recover < 120, $"submit {submit:F1} s, page {page:F2} s, cancel {cancel:F1} s, recovery {recover:F1} s");

        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir.Path, "journal.db")};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT max(length(payload)), count(*) FROM event_journal";
        using var r = cmd.ExecuteReader();
        r.Read();
        output.WriteLine($"journal: {r.GetInt64(1)} events, largest {r.GetInt64(0) / 1024.0:F0} KiB");
        Assert.True(r.GetInt64(0) < 4 << 20, $"largest journal row {r.GetInt64(0)} bytes");
        r.Close();
        cmd.CommandText = "SELECT coalesce(max(length(payload)), 0), count(*) FROM snapshot";
        using var snap = cmd.ExecuteReader();
        snap.Read();
        output.WriteLine($"snapshots: {snap.GetInt64(1)}, largest {snap.GetInt64(0) / 1024.0:F0} KiB");
    }
}
