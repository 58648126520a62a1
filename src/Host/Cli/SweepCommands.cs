using System.CommandLine;
using Spectre.Console;
using ActorLab.Model.Training;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Node;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Sweeps;
using ActorLab.Host.Composition;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>
/// `actorlab sweep run FILE`: a whole capacity sweep in this process, on the same node composition as `actorlab
/// node` (a one-node cluster on loopback: coordinator, gateway, trainer slots), resumable after a crash.
/// `sweep check FILE` validates a sweep file and lists what it would run, with its memory and disk estimates. Both
/// refuse a sweep whose disk estimate (<see cref="SweepPlanner.Disk"/>) exceeds the free space before anything is written.
/// </summary>
public static class SweepCommands
{
    public static Command Build()
    {
        var sweep = new Command("sweep", "Capacity sweeps on the actor runtime.");
        sweep.Subcommands.Add(Run());
        sweep.Subcommands.Add(Check());
        return sweep;
    }

    static Command Check()
    {
        var file = new Argument<string>("FILE") { Description = "Sweep file (HOCON)." };
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "The data dir `sweep run` would use: the disk estimate is compared with the free space of its file system.",
            DefaultValueFactory = _ => "./actorlab-data",
        };
        var cmd = new Command("check", "Validate a sweep file and list the runs it makes, without running anything.") { file, dataDir };
        cmd.SetAction(pr =>
        {
            var def = SweepFile.Load(pr.GetValue(file)!);
            var plan = SweepPlanner.Plan(def);
            var dir = Path.GetFullPath(pr.GetValue(dataDir)!);
            var disk = SweepPlanner.Disk(plan, def.VocabSize);
            disk.CheckFits(dir, dir, $"sweep {plan.Name}");
            Console.WriteLine($"sweep {plan.Name}: {plan.Runs.Length} runs on {plan.Datasets.Length} datasets (content {plan.ContentHash})");
            foreach (var d in plan.Datasets) Console.WriteLine($"  dataset {d.Name} ({d.Id}): N={d.NProfiles}, R={d.Relations}");
            // every run of a small sweep; a big grid's first ones (the largest is named below either way)
            const int shown = 50;
            foreach (var r in plan.Runs.Take(shown))
                Console.WriteLine($"  run {r.RunId}: {r.NParams:N0} params, about {MemoryEstimate.Format(SweepPlanner.Memory(r, def.VocabSize).TotalBytes)} per replica");
            if (plan.Runs.Length > shown) Console.WriteLine($"  ... and {plan.Runs.Length - shown} more runs");
            var largest = plan.Runs.MaxBy(r => SweepPlanner.Memory(r, def.VocabSize).TotalBytes);
            if (largest != null)
            {
                var need = SweepPlanner.Memory(largest, def.VocabSize).TotalBytes;
                var here = MemoryEstimate.AvailableBytes("cpu");
                Console.WriteLine($"largest run {largest.RunId}: about {MemoryEstimate.Format(need)} per replica" +
                                  (need > here ? $"; more than this machine's {MemoryEstimate.Format(here)}: it needs a GPU node or a bigger machine" : $"; fits this machine's {MemoryEstimate.Format(here)}"));
            }
            Console.WriteLine($"disk: about {disk.Describe()}; {MemoryEstimate.Format(DiskEstimate.FreeBytes(dir))} free at {dir}");
            return 0;
        });
        return cmd;
    }

    static Command Run()
    {
        var file = new Argument<string>("FILE") { Description = "Sweep file (HOCON), e.g. hocon/sweeps/quickstart.conf." };
        var node = new NodeOptions();
        var quiet = new Option<bool>("--quiet") { Description = "Plain lines: only run events, no periodic loss lines." };
        var plain = new Option<bool>("--plain") { Description = "Plain lines instead of the live panel (the default when stdout is not a terminal)." };
        var retry = new Option<bool>("--retry-failed") { Description = "Queue this sweep's failed runs (and failed dataset or measure jobs) again, once their cause is fixed; each resumes from its last checkpoint." };
        var cmd = new Command("run", "Run a sweep to the end in this process; running it again after a crash resumes it.") { file, quiet, plain, retry };
        node.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var path = pr.GetValue(file)!;
            var definition = SweepFile.Load(path);
            var dataDir = Path.GetFullPath(pr.GetValue(node.DataDir)!);
            var log = Path.Combine(dataDir, "logs", $"sweep-{definition.Name}.log");
            // the terminal gets one line per run event; the structured log of every actor goes to a file
            var config = node.Build(pr, NodeOptions.Logging(log, stdout: false) + "\nactorlab.node.roles = [coordinator, trainer]\n", createDataDir: false);
            // validate and plan before anything starts
            var plan = SweepPlanner.Plan(definition);
            // one process is the whole cluster: a run wanting more slots than it has would wait forever
            var slots = NodeSettings.From(config, DeviceProbe.CudaDevices).Slots;
            if (plan.Runs.FirstOrDefault(r => r.DataParallel > slots) is { } wide)
                throw new UserInputException($"sweep.data-parallel: run {wide.RunName} needs {wide.DataParallel} slots on one node and this process has {slots} (--slots, or actorlab.node.cpu-slots / one per CUDA device); lower data-parallel or raise --slots.");
            // the disk it writes must fit, less what an earlier start of the same sweep already wrote
            var storage = StorageSettings.From(config);
            SweepPlanner.Disk(plan, definition.VocabSize, storage.Storage).CheckFits(storage.Root, storage.DataDir, $"sweep {plan.Name}");
            Directory.CreateDirectory(dataDir);
            Console.WriteLine($"log: {log}");
            var rt = ActorLabNode.Start(config, new NodeEndpoint("127.0.0.1", "127.0.0.1", 0, []), warn: w => Console.Error.WriteLine($"warning: {w}"));
            var live = !pr.GetValue(plain) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            try { return RunSweep(rt, plan, File.ReadAllText(path), Path.GetFileName(path), pr.GetValue(quiet), live, pr.GetValue(retry)); }
            finally { rt.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30)); }
        });
        return cmd;
    }

    static int RunSweep(ActorLabNode rt, SweepPlan plan, string text, string source, bool quiet, bool live, bool retryFailed)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var printer = rt.System.ActorOf(Props.Create(() => new ProgressPrinter(plan.Name, quiet, silent: live, done)), "progress");
        DistributedPubSub.Get(rt.System).Mediator.Tell(new Subscribe(SweepCoordinator.EventsTopic, printer));
        var reply = AskCoordinator<CommandReply>(rt, new SubmitSweepFile(source, text), TimeSpan.FromSeconds(120));
        if (!reply.Ok) throw new UserInputException(reply.Message);
        Console.WriteLine($"sweep {plan.Name}: {plan.Runs.Length} runs, {plan.Datasets.Length} datasets, storage {rt.Storage.Root}" +
                          (reply.Message == CommandReplies.NothingToChange ? " (resuming)" : reply.Message.EndsWith(CommandReplies.MeasuredAgain, StringComparison.Ordinal) ? " (finished before: measuring again)" : ""));
        if (retryFailed)
        {
            var retried = AskCoordinator<CommandReply>(rt, new RetryFailed(plan.Name), TimeSpan.FromSeconds(30));
            if (!retried.Ok) throw new UserInputException(retried.Message);
            Console.WriteLine($"retry: {retried.Message}");
        }
        // a sweep that already finished before this process started
        if (Mine(rt, plan.Name).State is "finished" or "failed") done.TrySetResult();
        // the event log goes to the log file either way; the terminal gets a live panel or plain lines
        var interrupted = live ? LivePanel(rt, plan, done, cancel.Token) : WaitPlain(rt, plan, done, cancel.Token);
        if (interrupted)
        {
            Console.WriteLine("interrupted: the sweep resumes where it stopped when you run the same command again.");
            return 130;
        }
        var mine = Mine(rt, plan.Name);
        var runs = AskCoordinator<RunsReply>(rt, new GetRuns(plan.Name, 0, 1000), TimeSpan.FromSeconds(30));
        ConsoleCommands.PrintRuns(runs);
        Console.WriteLine($"sweep {plan.Name} {mine.State}: {mine.Completed} completed, {mine.Failed} failed, {mine.Cancelled} cancelled");
        if (mine.ResultsError != null)
        {
            Console.Error.WriteLine($"error: capacity was not measured: {mine.ResultsError} (fix the cause, then run the same command with --retry-failed)");
            return 1;
        }
        var dir = mine.ResultsDir!;
        foreach (var final in Directory.GetFiles(dir, "capacity_final_*.csv").Order(StringComparer.Ordinal)) CapacitySummary.Print(final);
        Console.WriteLine($"capacity tables: {string.Join(", ", Directory.GetFiles(dir, "capacity_final_*.csv").Select(Path.GetFileName))} in {dir}");
        Console.WriteLine($"plots: {string.Join(", ", Directory.GetFiles(dir, "capacity_vs_params_*.png").Select(Path.GetFileName))} in {dir}");
        if (mine.Failed > 0)
            Console.Error.WriteLine($"{mine.Failed} run(s) failed (`actorlab runs` or the table above says why): fix the cause and run the same command " +
                                    "with --retry-failed; they resume from their last checkpoints.");
        return mine.Failed > 0 ? 1 : 0;
    }

    /// <summary>Waits for the sweep's end; true when interrupted first.</summary>
    static bool WaitPlain(ActorLabNode rt, SweepPlan plan, TaskCompletionSource done, CancellationToken cancel)
    {
        while (!done.Task.Wait(TimeSpan.FromSeconds(2)))
        {
            if (cancel.IsCancellationRequested) return true;
            // the notice may have been missed (subscription not yet active): status is the truth
            if (Mine(rt, plan.Name).State is "finished" or "failed") break;
        }
        return false;
    }

    /// <summary>Redraws the sweep panel in place every second until the sweep ends; true when interrupted first.</summary>
    static bool LivePanel(ActorLabNode rt, SweepPlan plan, TaskCompletionSource done, CancellationToken cancel)
    {
        var caps = plan.Runs.ToDictionary(r => r.RunId, r => r.MaxSteps);
        var state = SweepPanelState.Start(plan.Name, plan.Runs.Length);
        var interrupted = false;
        AnsiConsole.Live(state.Render()).AutoClear(false).Start(ctx =>
        {
            while (true)
            {
                var sweep = Mine(rt, plan.Name);
                var runs = AskCoordinator<RunsReply>(rt, new GetRuns(plan.Name, 0, 1000), TimeSpan.FromSeconds(30));
                state = state.Observe(DateTime.UtcNow, sweep, runs.Runs, caps);
                ctx.UpdateTarget(state.Render());
                if (done.Task.IsCompleted || sweep.State is "finished" or "failed") return;
                if (cancel.IsCancellationRequested) { interrupted = true; return; }
                done.Task.Wait(TimeSpan.FromSeconds(1));
            }
        });
        return interrupted;
    }

    static SweepSummary Mine(ActorLabNode rt, string sweep) =>
        AskCoordinator<StatusReply>(rt, new GetStatus(), TimeSpan.FromSeconds(30)).Sweeps.First(s => s.Name == sweep);

    /// <summary>Asks through this node's gateway, waiting out the coordinator's start (the singleton takes a moment).</summary>
    static T AskCoordinator<T>(ActorLabNode rt, object message, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            object reply;
            try { reply = rt.Gateway.Ask<object>(message, timeout).GetAwaiter().GetResult(); }
            catch (AskTimeoutException) { throw new UserInputException($"this process's node did not answer within {timeout.TotalSeconds:0}s (see the log)"); }
            if (reply is T t) return t;
            if (reply is not NoCoordinator n || DateTime.UtcNow > until)
                throw new UserInputException(reply is NoCoordinator nc ? nc.Message : $"unexpected answer {reply.GetType().Name}");
            Thread.Sleep(200);
        }
    }

    /// <summary>Prints one line per run event of the sweep and, every few seconds per run, its loss.</summary>
    sealed class ProgressPrinter : ReceiveActor
    {
        readonly Dictionary<string, DateTime> _lastProgress = new();

        public ProgressPrinter(string sweep, bool quiet, bool silent, TaskCompletionSource done)
        {
            Receive<SubscribeAck>(_ => { });
            Receive<WatchNotice>(n =>
            {
                if (n.RunId != null && !n.RunId.StartsWith(sweep + "/", StringComparison.Ordinal) && n.RunId != SweepState.MeasureJobId(sweep)) return;
                if (n.Kind == "progress")
                {
                    if (quiet) return;
                    var now = DateTime.UtcNow;
                    if (_lastProgress.TryGetValue(n.RunId!, out var last) && now - last < TimeSpan.FromSeconds(10)) return;
                    _lastProgress[n.RunId!] = now;
                }
                var run = n.RunId != null && n.RunId.StartsWith(sweep + "/", StringComparison.Ordinal) ? n.RunId[(sweep.Length + 1)..] + " " : n.RunId != null ? n.RunId + " " : "";
                if (!silent) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n.At:HH:mm:ss} {n.Kind,-20} {run}{n.Text}"));
                if (n.RunId == SweepState.MeasureJobId(sweep) && n.Kind is "job-done" or "job-failed") done.TrySetResult();
            });
        }
    }
}
