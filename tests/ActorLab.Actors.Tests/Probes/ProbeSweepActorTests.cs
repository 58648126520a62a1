using System.Collections.Concurrent;
using ActorLab.Actors.Probes;
using ActorLab.Model.Probes;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;

namespace ActorLab.Actors.Tests.Probes;

public class ProbeSweepActorTests() : TestKit(ConfigurationFactory.ParseString(ProbeActor.DispatcherConfig))
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    static List<ProbeJob> Jobs(int layers, params string[] positions) =>
        (from l in Enumerable.Range(0, layers) from p in positions select new ProbeJob(l, p, "answer")).ToList();

    static ProbeResult Fake(ProbeJob j) => new(j.Layer, j.Position, j.Target, 2, 90, 30, 0, 1.0 / (1 + j.Layer), 0.5, 2.0, 0.3);

    /// <summary>Scripted executor: counts calls and concurrency, fails what the script says.</summary>
    sealed class ScriptedExecutor(Func<ProbeJob, int, bool> fails, TimeSpan work) : IProbeJobExecutor
    {
        public readonly ConcurrentDictionary<ProbeJob, int> Calls = new();
        int running;
        public int MaxRunning;

        public ProbeResult Execute(ProbeJob job)
        {
            var call = Calls.AddOrUpdate(job, 1, (_, c) => c + 1);
            var now = Interlocked.Increment(ref running);
            lock (this) MaxRunning = Math.Max(MaxRunning, now);
            try
            {
                Thread.Sleep(work);
                if (fails(job, call)) throw new InvalidOperationException($"scripted failure of {job.Key} (call {call})");
                return Fake(job);
            }
            finally { Interlocked.Decrement(ref running); }
        }
    }

    [Fact]
    public void SpreadsJobsOverSlotsInParallelAndCollectsEveryResult()
    {
        var jobs = Jobs(4, "name", "attribute", "all"); // 12 jobs
        var exec = new ScriptedExecutor((_, _) => false, TimeSpan.FromMilliseconds(150));
        Sys.ActorOf(ProbeSweepActor.Props(new ProbeSweepSpec { Jobs = jobs, Parallel = 3 }, exec, TestActor));

        var progress = new List<ProbeSweepProgress>();
        ProbeSweepFinished f;
        while (true)
        {
            var m = ExpectMsg<object>(Wait);
            if (m is ProbeSweepProgress p) progress.Add(p);
            else { f = Assert.IsType<ProbeSweepFinished>(m); break; }
        }

        Assert.Equal(12, f.Results.Count);
        Assert.Empty(f.Failures);
        Assert.Equal(jobs.Select(j => j.Key).Order(), f.Results.Select(r => new ProbeJob(r.Layer, r.Position, r.Target).Key).Order());
        Assert.All(exec.Calls.Values, c => Assert.Equal(1, c));
        Assert.Equal(3, exec.MaxRunning); // never more than the slots, and all slots used
        Assert.Equal(12, progress.Count);
        Assert.Equal(Enumerable.Range(1, 12), progress.Select(p => p.Done));
    }

    [Fact]
    public void RetriesAFailedJobThenReportsAPermanentFailureWithoutLosingTheOthers()
    {
        var jobs = Jobs(3, "name", "attribute"); // 6 jobs
        var flaky = new ProbeJob(1, "name", "answer");
        var broken = new ProbeJob(2, "attribute", "answer");
        var exec = new ScriptedExecutor((j, call) => j == broken || (j == flaky && call == 1), TimeSpan.FromMilliseconds(20));
        var dir = Directory.CreateTempSubdirectory("probe-actor-").FullName;
        try
        {
            Sys.ActorOf(ProbeSweepActor.Props(new ProbeSweepSpec { Jobs = jobs, Parallel = 2, MaxAttempts = 3, OutDir = dir, Title = "t" }, exec, TestActor));
            var f = (ProbeSweepFinished)FishForMessage<object>(m => m is ProbeSweepFinished, Wait);

            Assert.Equal(5, f.Results.Count);
            Assert.DoesNotContain(f.Results, r => r.Layer == 2 && r.Position == "attribute");
            var failure = Assert.Single(f.Failures);
            Assert.Equal(broken, failure.Job);
            Assert.Equal(3, failure.Attempts);
            Assert.Contains("scripted failure of L2_attribute_answer (call 3)", failure.LastError);
            Assert.Equal(3, exec.Calls[broken]);
            Assert.Equal(2, exec.Calls[flaky]);
            Assert.Equal(1, exec.Calls[new ProbeJob(0, "name", "answer")]);

            // The report holds the 5 good rows and a heatmap.
            var rows = ProbeResults.Read(Path.Combine(dir, ProbeSweep.ResultsFile));
            Assert.Equal(5, rows.Count);
            Assert.Contains(Path.Combine(dir, "heatmap_answer.png"), f.Files);
            Assert.True(File.Exists(Path.Combine(dir, "heatmap_answer.png")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AnswersStatusWhileRunning()
    {
        var gate = new ManualResetEventSlim(false);
        var exec = new GateExecutor(gate);
        var sweep = Sys.ActorOf(ProbeSweepActor.Props(new ProbeSweepSpec { Jobs = Jobs(5, "name"), Parallel = 2 }, exec, TestActor));
        AwaitCondition(() => exec.Started >= 2, Wait);
        sweep.Tell(GetProbeSweepStatus.Instance, TestActor);
        var s = FishForMessage<ProbeSweepStatus>(_ => true, Wait);
        Assert.Equal(new ProbeSweepStatus(5, 0, 0, 2, 3), s);
        gate.Set();
        var f = FishForMessage<object>(m => m is ProbeSweepFinished, Wait);
        Assert.Equal(5, ((ProbeSweepFinished)f).Results.Count);
    }

    sealed class GateExecutor(ManualResetEventSlim gate) : IProbeJobExecutor
    {
        public int Started;
        public ProbeResult Execute(ProbeJob job)
        {
            Interlocked.Increment(ref Started);
            gate.Wait(Wait);
            return Fake(job);
        }
    }

    [Fact]
    public async Task RunnerCompletesWithTheResultsAndForwardsProgress()
    {
        var exec = new ScriptedExecutor((j, _) => j.Layer == 0, TimeSpan.Zero);
        var seen = new ConcurrentBag<ProbeSweepProgress>();
        var f = await ProbeSweepRunner.RunAsync(Sys, new ProbeSweepSpec { Jobs = Jobs(3, "name"), Parallel = 2, MaxAttempts = 1 }, exec, seen.Add)
            .WaitAsync(Wait);
        Assert.Equal(2, f.Results.Count);
        Assert.Equal(new ProbeJob(0, "name", "answer"), Assert.Single(f.Failures).Job);
        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public async Task EmptySweepFinishesAtOnce()
    {
        var f = await ProbeSweepRunner.RunAsync(Sys, new ProbeSweepSpec { Jobs = [] }, new ScriptedExecutor((_, _) => false, TimeSpan.Zero))
            .WaitAsync(Wait);
        Assert.Empty(f.Results);
        Assert.Empty(f.Failures);
    }
}
