using System.Globalization;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Sweeps;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// The whole node composition (coordinator singleton, gateway, node agent, trainers, data generators) in one
/// process on the stand-in trainer, on both journals: SQLite and PostgreSQL.
/// </summary>
public class RuntimeTests
{
    const string Tiny = """
        sweep {
          name = tiny
          grid {
            layers = [1]
            param-budgets = [330000, 340000]
            relations = [2]
            n-profiles = [20]
            orders = [[1], [1, 2]]
          }
          vocab-size = 400
          batch-size = 4
          seq-len = 64
          max-steps = 20
          eval.steps = [10, 20]
          checkpoint.every = 5
        }
        """;

    internal static string Sweep(string name, long maxSteps = 40, long checkpointEvery = 5) => Tiny
        .Replace("name = tiny", $"name = {name}")
        .Replace("max-steps = 20", $"max-steps = {maxSteps}")
        .Replace("eval.steps = [10, 20]", $"eval.steps = [10, {maxSteps}]")
        .Replace("checkpoint.every = 5", $"checkpoint.every = {checkpointEvery}");

    internal static async Task<CommandReply> Submit(InProcessNode n, string text) => await n.Ask<CommandReply>(new SubmitSweepFile("test.conf", text));

    public static readonly TheoryData<string> Journals = new() { "sqlite", "postgresql" };

    [Fact]
    public async Task The_sweep_files_measure_block_reaches_the_measure_job_on_the_node()
    {
        using var dir = new TempDir();
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"));
        var text = Sweep("measured", maxSteps: 20).TrimEnd().TrimEnd('}') + """
              measure {
                schemes = [optimal, 2-hop-double]
                selection-schemes = [independent]
                subjectwise = true
                hops = [2.1]
              }
            }
            """;
        var reply = await Submit(n, text);
        Assert.True(reply.Ok, reply.Message);
        await n.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromSeconds(60));
        var measure = n.StandIn!.MeasuredWith["measured"];
        Assert.Equal([Model.Capacity.CapacityScheme.Optimal, Model.Capacity.CapacityScheme.TwoHopDouble], measure.Schemes.ToArray());
        Assert.Equal([Model.Capacity.SelectionScheme.Independent], measure.SelectionSchemes.ToArray());
        Assert.True(measure.Subjectwise);
        Assert.Equal([2.1], measure.Hops.ToArray());
    }

    [SkippableTheory]
    [MemberData(nameof(Journals))]
    public async Task A_sweep_runs_to_the_end_on_two_slots_and_measures_capacity(string journal)
    {
        using var dir = new TempDir();
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of(journal));
        var reply = await Submit(n, Sweep("full"));
        Assert.True(reply.Ok, reply.Message);
        var status = await n.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromSeconds(60));
        var sweep = status.Sweeps.Single();
        Assert.Equal(4, sweep.Completed);
        Assert.Null(sweep.ResultsError);
        Assert.Equal(n.Storage.SweepDir("full"), sweep.ResultsDir);
        Assert.True(File.Exists(Path.Combine(sweep.ResultsDir!, "capacity_final_standin.csv")));
        Assert.Equal(2, status.Nodes.Single().Slots);
        Assert.Equal(journal == "sqlite" ? "coordinator,journal-sqlite,trainer" : "coordinator,trainer", status.Nodes.Single().Roles);
        // every run trained each step exactly once, in one attempt, and its results are the lease's own files
        foreach (var g in n.StandIn!.Trained.GroupBy(t => t.RunId))
            Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), g.Select(t => t.Step).Order());
        var runs = await n.Runs();
        Assert.All(runs.Runs, r => Assert.Equal(("completed", 40L), (r.State, r.Step)));
        // resubmitting the same file retrains nothing: the finished sweep is measured again (its results files rebuilt
        // from the accepted eval results); a different one under the name is refused
        File.Delete(Path.Combine(sweep.ResultsDir!, "capacity_final_standin.csv"));
        var trained = n.StandIn.Trained.Count;
        var again = await Submit(n, Sweep("full"));
        Assert.True(again.Ok);
        Assert.Equal("sweep full: its capacity is measured again from its runs' accepted eval results (nothing is retrained)", again.Message);
        await n.WaitFor(s => s.Sweeps.Single().State == "finished", TimeSpan.FromSeconds(60));
        Assert.True(File.Exists(Path.Combine(sweep.ResultsDir!, "capacity_final_standin.csv")));
        Assert.Equal(trained, n.StandIn.Trained.Count);
        var clash = await Submit(n, Sweep("full", maxSteps: 50));
        Assert.False(clash.Ok);
        Assert.Contains("different sweep named 'full'", clash.Message);
        var bad = await Submit(n, Sweep("full").Replace("relations = [2]", "relations = [18]"));
        Assert.False(bad.Ok);
        Assert.Contains("sweep.grid.relations[0]: 18 is not in 1..17", bad.Message);
    }

    [SkippableTheory]
    [MemberData(nameof(Journals))]
    public async Task After_a_crash_the_sweep_resumes_from_the_recorded_checkpoints_and_completes(string journal)
    {
        using var dir = new TempDir();
        var j = TestJournal.Of(journal);
        var first = InProcessNode.Start(dir.Path, j, stepTime: TimeSpan.FromMilliseconds(40));
        Assert.True((await Submit(first, Sweep("crash", maxSteps: 60, checkpointEvery: 7))).Ok);
        // wait until a running run has a checkpoint well short of its last step (so it cannot finish before the
        // crash lands: 18+ steps of 40 ms left), then drop the whole system on the floor
        static bool MidRun(RunSummary x) => x.State == "running" && x.CheckpointStep is >= 14 and <= 42;
        string? midRun = null;
        await first.WaitForRuns(r => (midRun = r.Runs.FirstOrDefault(MidRun)?.RunId) is not null);
        await first.Crash();

        await using var second = InProcessNode.Start(dir.Path, j, stepTime: TimeSpan.FromMilliseconds(1));
        var status = await second.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromSeconds(60));
        Assert.Equal(4, status.Sweeps.Single().Completed);

        foreach (var runDir in Directory.GetDirectories(Path.Combine(dir.Path, "runs", "crash")))
        {
            var files = string.Join("\n", new ActorLab.Model.Storage.RunFolder(runDir, null).ProgressFiles()
                .Select(f => $"{f.Path}: {string.Join(" | ", File.ReadAllLines(f.Path).Where(l => !l.Contains(",step,")))}"));
            // each lease starts at a checkpoint an earlier lease wrote (the one the journal recorded; a crashed
            // process may have written newer ones the journal never heard of) and trains on from the step after it
            var written = new HashSet<long> { 0 };
            long lastCheckpoint = 0;
            foreach (var (epoch, file) in new ActorLab.Model.Storage.RunFolder(runDir, null).ProgressFiles())
            {
                var rows = File.ReadAllLines(file).Skip(1).Select(l => l.Split(','))
                    .Select(p => (Kind: p[1], Step: long.Parse(p[2], CultureInfo.InvariantCulture))).ToList();
                var start = rows.First(r => r.Kind == "start").Step;
                Assert.True(written.Contains(start), $"epoch {epoch} started at {start}, not at a checkpoint written before\n{files}");
                var steps = rows.Where(r => r.Kind == "step").Select(r => r.Step).ToList();
                if (steps.Count > 0) Assert.Equal(start + 1, steps[0]); // nothing before it is trained again
                Assert.Equal(steps.Count, steps.Distinct().Count());
                foreach (var c in rows.Where(r => r.Kind == "checkpoint")) written.Add(c.Step);
                lastCheckpoint = rows.Where(r => r.Kind == "checkpoint").Select(r => r.Step).DefaultIfEmpty(start).Max();
            }
            Assert.True(lastCheckpoint == 60, files);
        }
        // the second process never retrained a step at or below a checkpoint the first had recorded
        var resumedFrom = second.StandIn!.Trained.GroupBy(t => t.RunId).ToDictionary(g => g.Key, g => g.Min(t => t.Step));
        Assert.NotEmpty(resumedFrom);
        Assert.True(resumedFrom.TryGetValue(midRun!, out var resumedAt), $"{midRun} was not trained again after the crash");
        Assert.True(resumedAt >= 15, $"{midRun} had a checkpoint at step 14 or later, yet the second process trained it from step {resumedAt}");
    }

    [Fact]
    public async Task A_poison_run_fails_after_retries_and_the_sweep_goes_on()
    {
        using var dir = new TempDir();
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"));
        var plan = SweepPlanner.Plan(SweepFile.Parse(Sweep("poison"), "t"));
        var poisoned = plan.Runs[1].RunId;
        n.StandIn!.FailAtStep[poisoned] = 3;
        Assert.True((await Submit(n, Sweep("poison"))).Ok);
        var status = await n.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromSeconds(60));
        Assert.Equal((3, 1), (status.Sweeps[0].Completed, status.Sweeps[0].Failed));
        var run = (await n.Runs()).Runs.Single(r => r.RunId == poisoned);
        Assert.Equal("failed", run.State);
        Assert.Contains("failed 3 times in a row", run.Error);
        Assert.Contains("poisoned", run.Error);
        // one node: nothing was quarantined, and status still answers
        Assert.Equal("up", status.Nodes.Single().State);
    }

    /// <summary>
    /// A run that failed for good (a transient cause: the stand-in throws at step 3) is retried once the cause is gone:
    /// `retry SWEEP` queues it again, it completes, and the sweep is measured again with every run.
    /// </summary>
    [Fact]
    public async Task A_failed_run_retried_after_its_cause_is_fixed_completes_and_the_sweep_is_measured_again()
    {
        using var dir = new TempDir();
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"));
        var plan = SweepPlanner.Plan(SweepFile.Parse(Sweep("flaky"), "t"));
        var flaky = plan.Runs[2].RunId;
        n.StandIn!.FailAtStep[flaky] = 3;
        Assert.True((await Submit(n, Sweep("flaky"))).Ok);
        await n.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromSeconds(60));
        Assert.Equal("failed", (await n.Runs()).Runs.Single(r => r.RunId == flaky).State);
        Assert.Single(n.StandIn.Measured);

        n.StandIn.FailAtStep.TryRemove(flaky, out _); // the disk is fixed
        var reply = await n.Ask<CommandReply>(new RetryFailed("flaky"));
        Assert.True(reply.Ok, reply.Message);
        Assert.StartsWith("1 failed run queued again", reply.Message);
        var status = await n.WaitFor(s => s.Sweeps.Single().State == "finished" && s.Sweeps.Single().Completed == 4, TimeSpan.FromSeconds(60));
        Assert.Equal(0, status.Sweeps[0].Failed);
        Assert.Equal(2, n.StandIn.Measured.Count);
        Assert.False((await n.Ask<CommandReply>(new RetryFailed(flaky))).Ok); // completed: nothing to retry
    }

    [Fact]
    public async Task Pause_suspend_resume_and_cancel_act_on_running_runs()
    {
        using var dir = new TempDir();
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"), stepTime: TimeSpan.FromMilliseconds(15));
        Assert.True((await Submit(n, Sweep("ctl", maxSteps: 400, checkpointEvery: 50))).Ok);
        await n.WaitForRuns(r => r.Runs.Count(x => x.State == "running") == 2);
        Assert.True((await n.Ask<CommandReply>(new PauseSweep(null))).Ok);

        var running = (await n.Runs()).Runs.First(r => r.State == "running").RunId;
        var suspend = await n.Ask<CommandReply>(new SuspendRun(running));
        Assert.True(suspend.Ok, suspend.Message);
        await n.WaitForRuns(r => r.Runs.Single(x => x.RunId == running).State == "suspended");
        var suspended = (await n.Runs()).Runs.Single(x => x.RunId == running);
        Assert.True(suspended.CheckpointStep > 0 && suspended.CheckpointStep == suspended.Step, $"{suspended}");
        // paused: the freed slot stays free
        await Task.Delay(300);
        Assert.Equal(1, (await n.Runs()).Runs.Count(x => x.State == "running"));

        var unknown = await n.Ask<CommandReply>(new SuspendRun("no-such-run"));
        Assert.False(unknown.Ok);
        Assert.Contains("unknown run 'no-such-run'", unknown.Message);

        Assert.True((await n.Ask<CommandReply>(new ResumeRun(running))).Ok);
        Assert.True((await n.Ask<CommandReply>(new ResumeSweep(null))).Ok);
        await n.WaitForRuns(r => r.Runs.Single(x => x.RunId == running).State == "running");
        // it continues from its checkpoint, not from zero (wait for its first step under the new lease)
        var trained = n.StandIn!.Trained;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (trained.Where(t => t.RunId == running).Select(t => t.Epoch).Distinct().Count() < 2 && DateTime.UtcNow < until)
            await Task.Delay(20);
        var resumedSteps = trained.Where(t => t.RunId == running).GroupBy(t => t.Epoch).OrderBy(g => g.Key).ToList();
        Assert.True(resumedSteps.Count >= 2);
        Assert.Equal(suspended.CheckpointStep + 1, resumedSteps[^1].Min(t => t.Step));

        Assert.True((await n.Ask<CommandReply>(new CancelSweep("ctl"))).Ok);
        var status = await n.WaitFor(s => s.Sweeps[0].State == "finished", TimeSpan.FromSeconds(30));
        Assert.Equal(4, status.Sweeps[0].Cancelled);
    }

    [Fact]
    public async Task A_converged_run_stops_at_its_eval_before_the_step_cap()
    {
        using var dir = new TempDir();
        await using var n = InProcessNode.Start(dir.Path, TestJournal.Of("sqlite"), convergeAt: 20);
        var text = Sweep("conv", maxSteps: 40).Replace("eval.steps = [10, 40]", "eval.steps = [10, 20, 30, 40]");
        Assert.True((await Submit(n, text)).Ok);
        await n.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromSeconds(60));
        Assert.All((await n.Runs()).Runs, r => Assert.Equal(("completed", 20L), (r.State, r.Step)));
        Assert.DoesNotContain(n.StandIn!.Trained, t => t.Step > 20);
    }

    [SkippableTheory]
    [MemberData(nameof(Journals))]
    public async Task Recovery_rebuilds_the_state_from_the_journal_and_snapshots(string journal)
    {
        using var dir = new TempDir();
        var j = TestJournal.Of(journal);
        var extra = "actorlab.coordinator.snapshot-every = 3";
        var first = InProcessNode.Start(dir.Path, j, extra, stepTime: TimeSpan.FromMilliseconds(5));
        Assert.True((await Submit(first, Sweep("a"))).Ok);
        Assert.True((await first.Ask<CommandReply>(new PauseSweep("a"))).Ok);
        Assert.True((await Submit(first, Sweep("b"))).Ok);
        await first.WaitFor(s => s.Sweeps.Any(x => x.Name == "b" && x.State == "finished"), TimeSpan.FromSeconds(60));
        var before = (await first.Runs()).Runs;
        await first.DisposeAsync();
        if (journal == "sqlite") Assert.True(File.Exists(Path.Combine(dir.Path, "journal.db")));
        else Assert.Contains(Postgres.Query(j.Connection!, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"), t => t is string name && name.Contains("snapshot"));

        await using var second = InProcessNode.Start(dir.Path, j, extra);
        var after = await second.Ask<StatusReply>(new GetStatus());
        Assert.Equal(["a", "b"], after.Sweeps.Select(s => s.Name));
        Assert.Equal("paused", after.Sweeps[0].State);
        Assert.Equal("finished", after.Sweeps[1].State);
        var afterRuns = (await second.Runs()).Runs;
        Assert.Equal(before.Where(r => r.RunId.StartsWith("b/")).Select(r => (r.RunId, r.State, r.Step, r.CheckpointStep)),
            afterRuns.Where(r => r.RunId.StartsWith("b/")).Select(r => (r.RunId, r.State, r.Step, r.CheckpointStep)));
    }
}
