using System.Globalization;
using Akka.Actor;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;

namespace ActorLab.Actors.Tests;

/// <summary>The whole single-node runtime (coordinator on SQLite, node agent, trainers, data) on a fake model.</summary>
public class RuntimeTests
{
    static readonly TimeSpan Ask = TimeSpan.FromSeconds(10);

    static ActorLabRuntime Start(string dataDir, FakeBackend backend, string extra = "") =>
        ActorLabRuntime.Start(ActorLabConfig.Build(dataDir, extraHocon: """
            actorlab.coordinator.retry-backoff-min = 50ms
            actorlab.coordinator.retry-backoff-max = 200ms
            actorlab.node.heartbeat-interval = 200ms
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            """ + "\n" + extra), backend);

    static string Sweep(string name, long maxSteps = 40, long checkpointEvery = 5) => TestSweeps.Tiny
        .Replace("name = tiny", $"name = {name}")
        .Replace("max-steps = 20", $"max-steps = {maxSteps}")
        .Replace("eval.steps = [10, 20]", $"eval.steps = [10, {maxSteps}]")
        .Replace("checkpoint.every = 5", $"checkpoint.every = {checkpointEvery}");

    static async Task<CommandReply> Submit(ActorLabRuntime rt, string text) =>
        await rt.Coordinator.Ask<CommandReply>(new SubmitSweepFile("test.conf", text), Ask);

    static async Task<StatusReply> WaitFor(ActorLabRuntime rt, Func<StatusReply, bool> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var s = await rt.Coordinator.Ask<StatusReply>(new GetStatus(), Ask);
            if (done(s)) return s;
            if (DateTime.UtcNow > until) throw new TimeoutException("status never matched: " + string.Join("; ", s.Sweeps));
            await Task.Delay(50);
        }
    }

    static async Task<RunsReply> Runs(ActorLabRuntime rt) => await rt.Coordinator.Ask<RunsReply>(new GetRuns(null), Ask);

    [Fact]
    public async Task A_sweep_runs_to_the_end_on_two_slots_and_measures_capacity()
    {
        using var dir = new TempDir();
        var backend = new FakeBackend();
        await using var rt = Start(dir.Path, backend);
        var reply = await Submit(rt, Sweep("full"));
        Assert.True(reply.Ok, reply.Message);
        var status = await WaitFor(rt, s => s.Sweeps.Any(x => x.Status == "finished"), TimeSpan.FromSeconds(60));
        var sweep = status.Sweeps.Single();
        Assert.Equal(4, sweep.Completed);
        Assert.Null(sweep.CapacityError);
        Assert.Equal(Path.Combine(dir.Path, "sweeps", "full"), sweep.CapacityDir);
        Assert.True(File.Exists(Path.Combine(sweep.CapacityDir!, "capacity_final_fake.csv")));
        Assert.Equal(2, status.Nodes.Single().Slots);
        // every run trained each step exactly once, in one attempt
        foreach (var g in backend.Trained.GroupBy(t => t.RunId))
            Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), g.Select(t => t.Step).Order());
        var runs = await Runs(rt);
        Assert.All(runs.Runs, r => Assert.Equal(("Completed", 40L), (r.Status, r.Step)));
        // resubmitting the same file changes nothing
        var again = await Submit(rt, Sweep("full"));
        Assert.True(again.Ok);
        Assert.Equal("nothing to change", again.Message);
        var clash = await Submit(rt, Sweep("full", maxSteps: 50));
        Assert.False(clash.Ok);
        Assert.Contains("different sweep named 'full'", clash.Message);
        var bad = await Submit(rt, Sweep("full").Replace("relations = [2]", "relations = [18]"));
        Assert.False(bad.Ok);
        Assert.Contains("sweep.grid.relations[0]: 18 is not in 1..17", bad.Message);
    }

    [Fact]
    public async Task After_a_crash_the_sweep_resumes_from_checkpoints_and_completes()
    {
        using var dir = new TempDir();
        var first = new FakeBackend { StepDelay = TimeSpan.FromMilliseconds(20) };
        var rt = Start(dir.Path, first);
        Assert.True((await Submit(rt, Sweep("crash", maxSteps: 60, checkpointEvery: 7))).Ok);
        // wait until some run has a checkpoint, then drop the whole system on the floor
        await WaitForRuns(rt, r => r.Runs.Any(x => x.CheckpointStep >= 14));
        await rt.System.Terminate();

        var second = new FakeBackend { StepDelay = TimeSpan.FromMilliseconds(1) };
        await using var rt2 = Start(dir.Path, second);
        var status = await WaitFor(rt2, s => s.Sweeps.Any(x => x.Status == "finished"), TimeSpan.FromSeconds(60));
        Assert.Equal(4, status.Sweeps.Single().Completed);

        foreach (var runDir in Directory.GetDirectories(Path.Combine(dir.Path, "runs", "crash")))
        {
            var rows = File.ReadAllLines(Path.Combine(runDir, "progress.csv")).Skip(1).Select(l => l.Split(','))
                .Select(p => (Epoch: long.Parse(p[0]), Kind: p[1], Step: long.Parse(p[2]))).ToList();
            var attempts = rows.GroupBy(r => r.Epoch).OrderBy(g => g.Key).ToList();
            long lastCheckpoint = 0;
            foreach (var attempt in attempts)
            {
                var start = attempt.First(r => r.Kind == "start").Step;
                Assert.Equal(lastCheckpoint, start); // resumes exactly at the last checkpoint of earlier attempts
                var steps = attempt.Where(r => r.Kind == "step").Select(r => r.Step).ToList();
                if (steps.Count > 0) Assert.Equal(start + 1, steps[0]); // nothing before it is trained again
                lastCheckpoint = attempt.Where(r => r.Kind == "checkpoint").Select(r => r.Step).DefaultIfEmpty(lastCheckpoint).Max();
            }
            Assert.Equal(60, lastCheckpoint);
        }
        // the second process never retrained a step at or below a checkpoint the first process had written
        var resumedFrom = second.Trained.GroupBy(t => t.RunId).ToDictionary(g => g.Key, g => g.Min(t => t.Step));
        Assert.NotEmpty(resumedFrom);
        Assert.Contains(resumedFrom, kv => kv.Value > 1);
    }

    static async Task WaitForRuns(ActorLabRuntime rt, Func<RunsReply, bool> done)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!done(await Runs(rt)))
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("runs never matched");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_poison_run_fails_after_retries_and_the_sweep_goes_on()
    {
        using var dir = new TempDir();
        var backend = new FakeBackend();
        await using var rt = Start(dir.Path, backend);
        var spec = TestSweeps.Spec(Sweep("poison"));
        var poisoned = spec.Runs[1].RunId;
        backend.FailAtStep[poisoned] = 3;
        Assert.True((await Submit(rt, Sweep("poison"))).Ok);
        var status = await WaitFor(rt, s => s.Sweeps.Any(x => x.Status == "finished"), TimeSpan.FromSeconds(60));
        Assert.Equal((3, 1), (status.Sweeps[0].Completed, status.Sweeps[0].Failed));
        var run = (await Runs(rt)).Runs.Single(r => r.RunId == poisoned);
        Assert.Equal("Failed", run.Status);
        Assert.Contains("failed 3 times in a row", run.Error);
        Assert.Contains("poisoned", run.Error);
    }

    [Fact]
    public async Task Pause_suspend_resume_and_cancel_act_on_running_runs()
    {
        using var dir = new TempDir();
        var backend = new FakeBackend { StepDelay = TimeSpan.FromMilliseconds(15) };
        await using var rt = Start(dir.Path, backend);
        Assert.True((await Submit(rt, Sweep("ctl", maxSteps: 400, checkpointEvery: 50))).Ok);
        await WaitForRuns(rt, r => r.Runs.Count(x => x.Status == "Running") == 2);
        Assert.True((await rt.Coordinator.Ask<CommandReply>(new PauseSweep(null), Ask)).Ok);

        var running = (await Runs(rt)).Runs.First(r => r.Status == "Running").RunId;
        var suspend = await rt.Coordinator.Ask<CommandReply>(new SuspendRun(running), Ask);
        Assert.True(suspend.Ok, suspend.Message);
        await WaitForRuns(rt, r => r.Runs.Single(x => x.RunId == running).Status == "Suspended");
        var suspended = (await Runs(rt)).Runs.Single(x => x.RunId == running);
        Assert.True(suspended.CheckpointStep > 0 && suspended.CheckpointStep == suspended.Step, $"{suspended}");
        // paused: the freed slot stays free
        await Task.Delay(300);
        Assert.Equal(1, (await Runs(rt)).Runs.Count(x => x.Status == "Running"));

        var unknown = await rt.Coordinator.Ask<CommandReply>(new SuspendRun("no-such-run"), Ask);
        Assert.False(unknown.Ok);
        Assert.Contains("unknown run 'no-such-run'", unknown.Message);

        Assert.True((await rt.Coordinator.Ask<CommandReply>(new ResumeRun(running), Ask)).Ok);
        Assert.True((await rt.Coordinator.Ask<CommandReply>(new ResumeSweep(null), Ask)).Ok);
        await WaitForRuns(rt, r => r.Runs.Single(x => x.RunId == running).Status == "Running");
        // it continues from its checkpoint, not from zero (wait for its first step under the new lease)
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (backend.Trained.Where(t => t.RunId == running).Select(t => t.Epoch).Distinct().Count() < 2 && DateTime.UtcNow < until)
            await Task.Delay(20);
        var resumedSteps = backend.Trained.Where(t => t.RunId == running).GroupBy(t => t.Epoch).OrderBy(g => g.Key).ToList();
        Assert.True(resumedSteps.Count >= 2);
        Assert.Equal(suspended.CheckpointStep + 1, resumedSteps[^1].Min(t => t.Step));

        Assert.True((await rt.Coordinator.Ask<CommandReply>(new CancelSweep("ctl"), Ask)).Ok);
        var status = await WaitFor(rt, s => s.Sweeps[0].Status == "finished", TimeSpan.FromSeconds(30));
        Assert.Equal(4, status.Sweeps[0].Cancelled);
    }

    [Fact]
    public async Task A_converged_run_stops_at_its_eval_before_the_step_cap()
    {
        using var dir = new TempDir();
        var backend = new FakeBackend { ConvergeAt = 20 };
        await using var rt = Start(dir.Path, backend);
        var text = Sweep("conv", maxSteps: 40).Replace("eval.steps = [10, 40]", "eval.steps = [10, 20, 30, 40]").TrimEnd().TrimEnd('}')
                   + "\n  convergence { enabled = true, min-step = 15 }\n}\n";
        Assert.True((await Submit(rt, text)).Ok);
        await WaitFor(rt, s => s.Sweeps.Any(x => x.Status == "finished"), TimeSpan.FromSeconds(60));
        Assert.All((await Runs(rt)).Runs, r => Assert.Equal(("Completed", 20L), (r.Status, r.Step)));
        Assert.DoesNotContain(backend.Trained, t => t.Step > 20);
    }

    [Fact]
    public async Task Recovery_rebuilds_the_state_from_the_sqlite_journal_and_snapshots()
    {
        using var dir = new TempDir();
        var backend = new FakeBackend { StepDelay = TimeSpan.FromMilliseconds(5) };
        var extra = "actorlab.coordinator.snapshot-every = 3";
        var rt = Start(dir.Path, backend, extra);
        Assert.True((await Submit(rt, Sweep("a"))).Ok);
        Assert.True((await rt.Coordinator.Ask<CommandReply>(new PauseSweep("a"), Ask)).Ok);
        Assert.True((await Submit(rt, Sweep("b"))).Ok);
        var finished = await WaitFor(rt, s => s.Sweeps.Any(x => x.Name == "b" && x.Status == "finished"), TimeSpan.FromSeconds(60));
        var before = (await Runs(rt)).Runs;
        await rt.DisposeAsync();
        Assert.True(File.Exists(Path.Combine(dir.Path, "journal.db")));

        await using var rt2 = Start(dir.Path, new FakeBackend(), extra);
        var after = await rt2.Coordinator.Ask<StatusReply>(new GetStatus(), Ask);
        Assert.Equal(["a", "b"], after.Sweeps.Select(s => s.Name));
        Assert.Equal("paused", after.Sweeps[0].Status);
        Assert.Equal("finished", after.Sweeps[1].Status);
        var afterRuns = (await Runs(rt2)).Runs;
        Assert.Equal(before.Where(r => r.RunId.StartsWith("b/")).Select(r => (r.RunId, r.Status, r.Step, r.CheckpointStep)),
            afterRuns.Where(r => r.RunId.StartsWith("b/")).Select(r => (r.RunId, r.Status, r.Step, r.CheckpointStep)));
    }
}
