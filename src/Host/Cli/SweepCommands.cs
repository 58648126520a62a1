using System.CommandLine;
using System.Globalization;
using Akka.Actor;
using ActorLab.Actors;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab sweep run FILE`: a whole capacity sweep in one process (node + coordinator), resumable after a crash.</summary>
public static class SweepCommands
{
    public static Command Build()
    {
        var sweep = new Command("sweep", "Capacity sweeps (SPEC 7) on the actor runtime.");
        sweep.Subcommands.Add(Run());
        sweep.Subcommands.Add(Check());
        return sweep;
    }

    /// <summary>Options every process that hosts a node shares.</summary>
    internal sealed class NodeOptions
    {
        public readonly Option<string> DataDir = new("--data-dir") { Description = "Everything lives here: journal, datasets, tokenizers, runs, sweep results.", DefaultValueFactory = _ => "./actorlab-data" };
        public readonly Option<string?> Config = new("--config") { Description = "A HOCON file over hocon/actorlab.conf's defaults." };
        public readonly Option<int?> Slots = new("--slots") { Description = "Trainer slots (CPU) on this node (default: actorlab.node.cpu-slots, or one per CUDA device)." };

        public void AddTo(Command c)
        {
            c.Options.Add(DataDir);
            c.Options.Add(Config);
            c.Options.Add(Slots);
        }

        public Akka.Configuration.Config Build(ParseResult pr, string extra = "")
        {
            var slots = pr.GetValue(Slots);
            if (slots is < 1) throw new UserInputException($"--slots must be at least 1, got {slots}.");
            var dataDir = pr.GetValue(DataDir)!;
            var overrides = slots is { } s ? $"actorlab.node.cpu-slots = {s}\n" : "";
            return ActorLabConfig.Build(dataDir, pr.GetValue(Config), overrides + extra);
        }
    }

    static Command Check()
    {
        var file = new Argument<string>("FILE") { Description = "Sweep file (HOCON)." };
        var cmd = new Command("check", "Validate a sweep file and list the runs it makes, without running anything.") { file };
        cmd.SetAction(pr =>
        {
            var spec = SweepPlanner.Plan(SweepFile.Load(pr.GetValue(file)!), new PipelineBackend().SolveN);
            Console.WriteLine($"sweep {spec.Name}: {spec.Runs.Length} runs on {spec.Datasets.Length} datasets (content {spec.ContentHash})");
            foreach (var d in spec.Datasets) Console.WriteLine($"  dataset {d.Key}: N={d.NProfiles}, R={d.Relations}");
            foreach (var r in spec.Runs) Console.WriteLine($"  run {r.RunId}");
            return 0;
        });
        return cmd;
    }

    static Command Run()
    {
        var file = new Argument<string>("FILE") { Description = "Sweep file (HOCON), e.g. hocon/sweeps/quickstart.conf." };
        var node = new NodeOptions();
        var quiet = new Option<bool>("--quiet") { Description = "Only run events, no periodic loss lines." };
        var cmd = new Command("run", "Run a sweep to the end in this process; running it again after a crash resumes it.") { file, quiet };
        node.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var path = pr.GetValue(file)!;
            var definition = SweepFile.Load(path);
            var dataDir = Path.GetFullPath(pr.GetValue(node.DataDir)!);
            var log = Path.Combine(dataDir, "logs", $"sweep-{definition.Name}.log");
            // the terminal gets one line per run event; the structured log of every actor goes to a file
            var config = node.Build(pr, $$"""
                actorlab.log-file = {{HoconText.Quote(log)}}
                akka.loggers = ["ActorLab.Actors.Config.FileLogger, ActorLab.Actors"]
                """);
            var backend = new PipelineBackend(config.GetInt("actorlab.node.torch-threads-per-slot", 1), w => Console.Error.WriteLine($"warning: {w}"));
            // validate and plan before anything starts
            var spec = SweepPlanner.Plan(definition, backend.SolveN);
            Console.WriteLine($"log: {log}");
            return RunSweep(spec, config, backend, pr.GetValue(quiet));
        });
        return cmd;
    }

    static int RunSweep(SweepSpec spec, Akka.Configuration.Config config, ITrainingBackend backend, bool quiet)
    {
        var rt = ActorLabRuntime.Start(config, backend);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        try
        {
            var done = new TaskCompletionSource<CapacityMeasured?>(TaskCreationOptions.RunContinuationsAsynchronously);
            var printer = rt.System.ActorOf(Props.Create(() => new ProgressPrinter(spec.Name, quiet, done)), "progress");
            rt.Coordinator.Tell(new Watch(printer));
            var reply = rt.Coordinator.Ask<CommandReply>(new SubmitSweep(spec), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
            if (!reply.Ok) throw new UserInputException(reply.Message);
            Console.WriteLine($"sweep {spec.Name}: {spec.Runs.Length} runs, {spec.Datasets.Length} datasets, data in {rt.DataDir}" +
                              (reply.Message == "nothing to change" ? " (resuming)" : ""));
            // a sweep that already finished before this process started
            var status = rt.Coordinator.Ask<StatusReply>(new GetStatus(), TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            var mine = status.Sweeps.First(s => s.Name == spec.Name);
            if (mine.Status == "finished") done.TrySetResult(null);

            try { done.Task.Wait(cancel.Token); }
            catch (OperationCanceledException)
            {
                Console.WriteLine("interrupted: the sweep resumes where it stopped when you run the same command again.");
                return 130;
            }
            status = rt.Coordinator.Ask<StatusReply>(new GetStatus(), TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            var runs = rt.Coordinator.Ask<RunsReply>(new GetRuns(spec.Name), TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            mine = status.Sweeps.First(s => s.Name == spec.Name);
            ConsoleCommands.PrintRuns(runs);
            Console.WriteLine($"sweep {spec.Name} {mine.Status}: {mine.Completed} completed, {mine.Failed} failed, {mine.Cancelled} cancelled");
            if (mine.CapacityError != null)
            {
                Console.Error.WriteLine($"error: capacity was not measured: {mine.CapacityError}");
                return 1;
            }
            var dir = mine.CapacityDir!;
            Console.WriteLine($"capacity tables: {string.Join(", ", Directory.GetFiles(dir, "capacity_final_*.csv").Select(Path.GetFileName))} in {dir}");
            Console.WriteLine($"plots: {string.Join(", ", Directory.GetFiles(dir, "capacity_vs_params_*.png").Select(Path.GetFileName))} in {dir}");
            return mine.Failed > 0 ? 1 : 0;
        }
        finally
        {
            rt.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>Prints one line per run event of the sweep and, every few seconds per run, its loss.</summary>
    sealed class ProgressPrinter : ReceiveActor
    {
        readonly Dictionary<string, DateTime> _lastProgress = new();

        public ProgressPrinter(string sweep, bool quiet, TaskCompletionSource<CapacityMeasured?> done)
        {
            Receive<WatchNotice>(n =>
            {
                if (n.RunId != null && !n.RunId.StartsWith(sweep + "/", StringComparison.Ordinal)) return;
                if (n.Kind == "progress")
                {
                    if (quiet) return;
                    var now = DateTime.UtcNow;
                    if (_lastProgress.TryGetValue(n.RunId!, out var last) && now - last < TimeSpan.FromSeconds(10)) return;
                    _lastProgress[n.RunId!] = now;
                }
                if (n.Kind == "watching") return;
                var run = n.RunId != null ? n.RunId[(sweep.Length + 1)..] + " " : "";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n.At:HH:mm:ss} {n.Kind,-20} {run}{n.Text}"));
                if (n.Kind == "capacity-measured" && n.Text.Contains($"sweep={sweep} ")) done.TrySetResult(null);
            });
        }
    }
}
