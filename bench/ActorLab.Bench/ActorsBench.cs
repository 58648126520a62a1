using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Persistence;
using ActorLab.Actors;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Node;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Bench;

/// <summary>
/// The actor runtime (issue 6 targets): steps/s of a run through the actors vs TrainerCore alone (under 2% slower),
/// recovery time after kill -9 until training resumes, coordinator journal replay of 10,000 events (under 1 s).
/// Args: [--steps S] [--events E].
/// </summary>
public static class ActorsBench
{
    const string Model = """
          grid { layers = [1], param-budgets = [450000], relations = [2], n-profiles = [200], orders = [[1, 2]] }
          vocab-size = 600
          batch-size = 16
          seq-len = 128
          convergence.enabled = false
        """;

    public static int Run(string[] args)
    {
        int steps = 200, events = 10_000;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--steps": steps = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--events": events = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        TorchSharp.torch.set_num_threads(1);
        var root = Path.Combine(Path.GetTempPath(), "actorlab-bench-actors-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(root);
        var rows = new List<(string Metric, string Value, string Target)>();
        try
        {
            var (core, actors) = Throughput(root, steps);
            rows.Add(("steps/s, TrainerCore alone (prefetched QaStream)", F(core, "F2"), ""));
            rows.Add(("steps/s, through the actors (1 slot)", F(actors, "F2"), ""));
            rows.Add(("actor overhead", F(100 * (core - actors) / core, "F2") + " %", "< 2 %"));
            var (started, trained) = Recovery(root);
            rows.Add(("kill -9 -> run restarted (new process: start, recover journal, lease, reopen checkpoint)", F(started, "F2") + " s", ""));
            rows.Add(("kill -9 -> first step trained again", F(trained, "F2") + " s", ""));
            var (count, replay) = Replay(root, events);
            rows.Add(($"coordinator journal replay, {count} events (SQLite)", F(replay * 1000, "F0") + " ms", "< 1000 ms"));
        }
        finally
        {
            try { Directory.Delete(root, true); } catch { /* best effort */ }
        }
        var md = new StringBuilder();
        md.AppendLine("# Actor runtime benchmark");
        md.AppendLine();
        md.AppendLine($"`dotnet run --project bench/ActorLab.Bench -c Release -- actors --steps {steps} --events {events}` on {BenchResults.Machine()}.");
        md.AppendLine("Model: 1 layer, budget 450000 (d = 96), vocab 600, batch 16 x 128 tokens, orders 1+2, N = 200, 1 torch thread.");
        md.AppendLine();
        md.AppendLine("| metric | value | target |");
        md.AppendLine("|---|---|---|");
        foreach (var (m, v, t) in rows) md.AppendLine($"| {m} | {v} | {t} |");
        Console.Write(md);
        Console.WriteLine($"wrote {BenchResults.Write("actors", md.ToString())}");
        return 0;
    }

    static string F(double x, string fmt) => x.ToString(fmt, CultureInfo.InvariantCulture);

    static SweepSpec Spec(string name, long maxSteps, long evalAt, long checkpointEvery) =>
        SweepPlanner.Plan(SweepFile.Parse($$"""
            sweep {
              name = {{name}}
              {{Model}}
              max-steps = {{maxSteps}}
              eval { steps = [{{evalAt}}], questions = 50 }
              checkpoint.every = {{checkpointEvery}}
            }
            """));

    /// <summary>The same run twice: a plain TrainerCore loop, and a one-slot node; steps/s over steps 11..S+10.</summary>
    static (double Core, double Actors) Throughput(string root, int steps)
    {
        const int warm = 10;
        var backend = new PipelineBackend();
        var spec = Spec("throughput", steps + warm, steps + warm, 1_000_000);
        var ds = spec.Datasets[0];
        var prepared = backend.PrepareDataset(ds, root, CancellationToken.None);

        // TrainerCore alone, fed by the model layer's own prefetcher
        double core;
        {
            var db = ActorLab.Model.Profiles.ProfileParquet.Read(prepared.ProfilesPath);
            var tok = QaTokenizer.Load(prepared.TokenizerPath);
            var start = new StartRun("b/core", 1, [0], spec.Runs[0], spec.Training, spec.HopRatio, ds, prepared.ProfilesPath, prepared.TokenizerPath,
                Path.Combine(root, "core"), ActorRefs.Nobody);
            using var trainer = TrainerCore.Create(PipelineBackend.ToRunConfig(start, "cpu"), start.RunDir,
                new TrainerOptions { VocabSize = tok.VocabSize, Threads = 1, WarmupSteps = spec.Training.WarmupSteps });
            var splits = HeldOutSplits.Build(db, 0);
            var stream = new QaStream(db, tok, splits, new QaStreamOptions([1, 2], 0.1, spec.Training.SeqLen, spec.Training.BatchSize));
            using var prefetch = new BatchPrefetcher(stream);
            for (var i = 0; i < warm; i++) trainer.TrainStep(prefetch.Take());
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < steps; i++) trainer.TrainStep(prefetch.Take());
            core = steps / sw.Elapsed.TotalSeconds;
        }

        // the same run through coordinator, node agent, trainer actor and data generator
        double actors;
        {
            var dataDir = Path.Combine(root, "actors");
            var rt = ActorLabRuntime.Start(ActorLabConfig.Build(dataDir, extraHocon: "actorlab.node.cpu-slots = 1\nakka.loglevel = WARNING"), backend);
            try
            {
                rt.Coordinator.Ask<CommandReply>(new SubmitSweep(spec), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
                while (rt.Coordinator.Ask<StatusReply>(new GetStatus(), TimeSpan.FromSeconds(10)).GetAwaiter().GetResult().Sweeps[0].Status != "finished")
                    Thread.Sleep(200);
            }
            finally
            {
                rt.DisposeAsync().AsTask().Wait();
            }
            var progress = File.ReadAllLines(Path.Combine(dataDir, "runs", spec.Runs[0].RunId, "progress.csv")).Skip(1)
                .Select(l => l.Split(',')).Where(p => p[1] == "step")
                .ToDictionary(p => long.Parse(p[2], CultureInfo.InvariantCulture), p => DateTimeOffset.Parse(p[4], CultureInfo.InvariantCulture));
            actors = steps / (progress[steps + warm] - progress[warm]).TotalSeconds;
        }
        return (core, actors);
    }

    /// <summary>kill -9 a real `actorlab sweep run` after a checkpoint; time the rerun until the run starts and trains again.</summary>
    static (double Started, double Trained) Recovery(string root)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "actorlab.dll");
        var file = Path.Combine(root, "recovery.conf");
        File.WriteAllText(file, $$"""
            sweep {
              name = recovery
              {{Model}}
              max-steps = 100000
              eval { steps = [100000], questions = 50 }
              checkpoint.every = 20
            }
            """);
        var dataDir = Path.Combine(root, "recovery");
        string[] args = [dll, "sweep", "run", file, "--data-dir", dataDir, "--slots", "1"];
        using (var first = Launch(args, out var lines))
        {
            Wait(lines, l => l.Contains("checkpoint-recorded"), TimeSpan.FromMinutes(3));
            first.Kill(entireProcessTree: true);
            first.WaitForExit();
        }
        var progress = Directory.GetFiles(Path.Combine(dataDir, "runs"), "progress.csv", SearchOption.AllDirectories).Single();
        var before = File.ReadAllLines(progress).Length;
        var sw = Stopwatch.StartNew();
        using var second = Launch(args, out var lines2);
        Wait(lines2, l => l.Contains("run-started"), TimeSpan.FromMinutes(3));
        var started = sw.Elapsed.TotalSeconds;
        while (!File.ReadAllLines(progress).Skip(before).Any(l => l.Contains(",step,")))
        {
            if (sw.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException("training did not resume");
            Thread.Sleep(5);
        }
        var trained = sw.Elapsed.TotalSeconds;
        second.Kill(entireProcessTree: true);
        second.WaitForExit();
        return (started, trained);
    }

    static Process Launch(string[] args, out List<string> lines)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var collected = new List<string>();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (collected) collected.Add(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (collected) collected.Add(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        lines = collected;
        return p;
    }

    static void Wait(List<string> lines, Func<string, bool> match, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            lock (lines) if (lines.Any(match)) return;
            if (sw.Elapsed > timeout) throw new TimeoutException(string.Join("\n", lines));
            Thread.Sleep(5);
        }
    }

    /// <summary>Writes a realistic journal (a 100-run sweep, each run leased, checkpointed many times, completed), then times recovery.</summary>
    static (int Events, double Seconds) Replay(string root, int target)
    {
        var spec = SweepPlanner.Plan(SweepFile.Parse("""
            sweep {
              name = replay
              grid { layers = [1, 2], param-budgets = [400000, 500000, 600000, 700000, 800000, 900000, 1000000, 1100000, 1200000, 1300000],
                     relations = [4], n-profiles = [1000], orders = [[1, 2]], seeds = [0, 1, 2, 3, 4] }
            }
            """));
        var state = SweepState.Empty;
        var journal = new List<ISweepEvent>();
        void Do(ISweepCommand c)
        {
            var d = state.Decide(c);
            if (d.Rejected) throw new InvalidOperationException(d.Rejection);
            journal.AddRange(d.Events);
            state = state.ApplyAll(d.Events);
        }
        Do(new SubmitSweep(spec));
        Do(new ReportDatasetPrepared(spec.Datasets[0].Key, "/p", "/t"));
        var perRun = Math.Max(3, (target - 2) / spec.Runs.Length) - 3; // lease, start, checkpoints, completion
        foreach (var run in spec.Runs)
        {
            Do(new ScheduleRuns([new SlotRef("n", 0)], DateTimeOffset.UnixEpoch));
            var epoch = state.Runs[run.RunId].Lease!.Epoch;
            Do(new ReportRunStarted(run.RunId, epoch, 0));
            for (var k = 1; k <= perRun; k++) Do(new ReportCheckpoint(run.RunId, epoch, k * 1000, $"/ckpt/{k}", 1.0 / k));
            Do(new ReportRunCompleted(run.RunId, epoch, perRun * 1000, "step cap"));
        }

        var dataDir = Path.Combine(root, "replay");
        var config = ActorLabConfig.Build(dataDir, extraHocon: "akka.loglevel = WARNING\nactorlab.coordinator.snapshot-every = 1000000000");
        using (var system = ActorSystem.Create("writer", config))
        {
            var writer = system.ActorOf(Props.Create(() => new JournalWriter()));
            foreach (var chunk in journal.Chunk(500))
                writer.Ask<string>(chunk, TimeSpan.FromMinutes(1)).GetAwaiter().GetResult();
            system.Terminate().Wait();
        }

        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            using var system = ActorSystem.Create("replay", config);
            var settings = CoordinatorSettings.From(config, singleProcess: false);
            var sw = Stopwatch.StartNew();
            var coordinator = system.ActorOf(SweepCoordinator.Props(settings, new PipelineBackend()), "coordinator");
            var status = coordinator.Ask<StatusReply>(new GetStatus(), TimeSpan.FromMinutes(1)).GetAwaiter().GetResult();
            times.Add(sw.Elapsed.TotalSeconds);
            if (status.Sweeps.Single().Completed != spec.Runs.Length) throw new InvalidOperationException("replay lost runs");
            system.Terminate().Wait();
        }
        return (journal.Count, times.Order().ElementAt(1));
    }

    /// <summary>Writes prepared events under the coordinator's persistence id.</summary>
    sealed class JournalWriter : ReceivePersistentActor
    {
        public override string PersistenceId => SweepCoordinator.Id;

        public JournalWriter()
        {
            Recover<object>(_ => { });
            Command<ISweepEvent[]>(events =>
            {
                var sender = Sender;
                var left = events.Length;
                PersistAll(events, _ => { if (--left == 0) sender.Tell("ok"); });
            });
        }
    }
}
