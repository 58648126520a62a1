using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Tools.Client;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Gateway;
using ActorLab.Actors.Sweeps;
using ActorLab.Model.Common;
using Spectre.Console;

namespace ActorLab.Host.Cli;

/// <summary>
/// `actorlab console --contact HOST:PORT[,HOST:PORT...] VERB`: talks to an ActorLab cluster through ClusterClient and
/// the console gateways of its coordinator-role nodes, so it works whichever node hosts the coordinator. Sweep verbs
/// follow W&amp;B sweeps: pause (no new runs), resume, stop (running runs finish), cancel (running runs end now);
/// suspend RUN checkpoints a run and frees its slot, resume RUN requeues it; watch streams run events and losses.
/// </summary>
public static class ConsoleCommands
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Build()
    {
        var contact = new Option<string>("--contact") { Description = "HOST:PORT[,HOST:PORT...] of coordinator-role nodes of the cluster.", Required = true, Recursive = true };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables.", Recursive = true };
        var console = new Command("console", "Control a running cluster: status, runs, submit, pause, resume, stop, cancel, suspend, retry, watch, probe.") { contact, json, TokenFile };
        new TlsOptions(recursive: true).AddTo(console);

        var status = new Command("status", "Sweeps, nodes (roles, slots, health), members and where the coordinator is.");
        status.SetAction(pr => WithCluster(pr, contact, c =>
        {
            var s = c.Ask<StatusReply>(new GetStatus());
            if (pr.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(s, Json));
            else PrintStatus(s);
            return 0;
        }));

        var sweepArg = new Option<string?>("--sweep") { Description = "Only this sweep." };
        var offset = new Option<int>("--offset") { Description = "Skip this many runs.", DefaultValueFactory = _ => 0 };
        var limit = new Option<int>("--limit") { Description = "At most this many runs (1..1000).", DefaultValueFactory = _ => 200 };
        var runs = new Command("runs", "Runs with their state, step, checkpoint and latest loss, a page at a time.") { sweepArg, offset, limit };
        runs.SetAction(pr => WithCluster(pr, contact, c =>
        {
            var l = pr.GetValue(limit);
            if (l is < 1 or > 1000) throw new UserInputException($"--limit must be 1..1000, got {l}.");
            if (pr.GetValue(offset) < 0) throw new UserInputException($"--offset must be >= 0, got {pr.GetValue(offset)}.");
            var r = c.Ask<RunsReply>(new GetRuns(pr.GetValue(sweepArg), pr.GetValue(offset), l));
            if (pr.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(r, Json));
            else
            {
                PrintRuns(r);
                if (r.Offset + r.Runs.Length < r.Total)
                    Console.WriteLine($"runs {r.Offset + 1}-{r.Offset + r.Runs.Length} of {r.Total}; next page: --offset {r.Offset + r.Runs.Length}");
            }
            return 0;
        }));

        var runArg = new Argument<string>("RUN") { Description = "A run (SWEEP/RUN, as `runs` lists it) or a job." };
        var historyLimit = new Option<int>("--limit") { Description = $"At most this many events, the newest (1..{RunHistory.MaxLimit}).", DefaultValueFactory = _ => 200 };
        var history = new Command("history", "A run's events from the coordinator's journal: leases, checkpoints, failures, suspends, the end.") { runArg, historyLimit };
        history.SetAction(pr =>
        {
            var l = pr.GetValue(historyLimit);
            if (l is < 1 or > RunHistory.MaxLimit) throw new UserInputException($"--limit must be 1..{RunHistory.MaxLimit}, got {l}.");
            return WithCluster(pr, contact, c => History(pr, json, c, pr.GetValue(runArg)!, l));
        });

        var file = new Argument<string>("FILE") { Description = "Sweep file (HOCON)." };
        var submit = new Command("submit", "Submit a sweep file (validated here first, then planned by the coordinator).") { file };
        submit.SetAction(pr =>
        {
            var path = pr.GetValue(file)!;
            SweepFile.Load(path); // a bad file is refused before contacting anyone
            return WithCluster(pr, contact, c => Reply(pr, json, c.Ask<CommandReply>(new SubmitSweepFile(Path.GetFileName(path), File.ReadAllText(path)))));
        });

        console.Subcommands.Add(status);
        console.Subcommands.Add(runs);
        console.Subcommands.Add(history);
        console.Subcommands.Add(submit);
        console.Subcommands.Add(SweepVerb("pause", "Start no new runs (running runs go on).", contact, json, s => new PauseSweep(s)));
        console.Subcommands.Add(Resume(contact, json));
        console.Subcommands.Add(SweepVerb("stop", "Let running runs finish; start no more.", contact, json, s => new StopSweep(s)));
        console.Subcommands.Add(SweepVerb("cancel", "End running runs now; start no more.", contact, json, s => new CancelSweep(s)));
        var retryTarget = new Argument<string?>("RUN|SWEEP") { Description = "A failed run, or a sweep whose failed runs and jobs to retry (default: every sweep not cancelled).", Arity = ArgumentArity.ZeroOrOne };
        var retry = new Command("retry", "Queue failed runs (and the failed dataset or measure jobs they need) again once the cause is fixed; each resumes from its last checkpoint.") { retryTarget };
        retry.SetAction(pr => WithCluster(pr, contact, c => Reply(pr, json, c.Ask<CommandReply>(new RetryFailed(pr.GetValue(retryTarget))))));
        console.Subcommands.Add(retry);
        var run = new Argument<string>("RUN") { Description = "Run id (sweep/run-name) or run name." };
        var suspend = new Command("suspend", "Checkpoint a running run now and free its slot (`resume RUN` requeues it).") { run };
        suspend.SetAction(pr => WithCluster(pr, contact, c => Reply(pr, json, c.Ask<CommandReply>(new SuspendRun(pr.GetValue(run)!)))));
        console.Subcommands.Add(suspend);
        console.Subcommands.Add(WatchCommand(contact, json));
        var probeRun = new Argument<string>("RUN") { Description = "A completed run (run id or name)." };
        var probeLayers = new Option<string>("--layers") { Description = "Layers to probe (range, list or 'all').", DefaultValueFactory = _ => "all" };
        var probeSamples = new Option<int>("--samples") { Description = "Distinct questions to capture.", DefaultValueFactory = _ => 10000 };
        var probe = new Command("probe", "Queue the probe sweep of a completed run as a job on a free slot of the cluster; results in RUN/probes/ (see `actorlab probe` for every option).") { probeRun, probeLayers, probeSamples };
        probe.SetAction(pr => WithCluster(pr, contact, c => Reply(pr, json,
            ProbeCommands.Submit(c, pr.GetValue(probeRun)!, pr.GetValue(probeLayers)!, pr.GetValue(probeSamples)))));
        console.Subcommands.Add(probe);
        return console;
    }

    static Command SweepVerb(string name, string description, Option<string> contact, Option<bool> json, Func<string?, ISweepCommand> make)
    {
        var sweep = new Argument<string?>("SWEEP") { Description = "Sweep name (default: every sweep still going).", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command(name, description) { sweep };
        cmd.SetAction(pr => WithCluster(pr, contact, c => Reply(pr, json, c.Ask<CommandReply>(make(pr.GetValue(sweep))))));
        return cmd;
    }

    static Command Resume(Option<string> contact, Option<bool> json)
    {
        var target = new Argument<string?>("RUN|SWEEP") { Description = "A suspended run to requeue, or a paused sweep (default: every paused sweep).", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("resume", "Resume paused sweeps, or requeue a suspended run.") { target };
        cmd.SetAction(pr => WithCluster(pr, contact, c =>
        {
            var t = pr.GetValue(target);
            if (t == null) return Reply(pr, json, c.Ask<CommandReply>(new ResumeSweep(null)));
            var status = c.Ask<StatusReply>(new GetStatus());
            if (status.Sweeps.Any(s => s.Name == t)) return Reply(pr, json, c.Ask<CommandReply>(new ResumeSweep(t)));
            var reply = c.Ask<CommandReply>(new ResumeRun(t));
            if (!reply.Ok && reply.Message.StartsWith("unknown run", StringComparison.Ordinal))
                throw new UserInputException($"unknown run or sweep '{t}' (see `actorlab console runs`).");
            return Reply(pr, json, reply);
        }));
        return cmd;
    }

    static Command WatchCommand(Option<string> contact, Option<bool> json)
    {
        var cmd = new Command("watch", "Stream run events and losses until Ctrl+C (survives a coordinator failover).");
        cmd.SetAction(pr => WithCluster(pr, contact, c =>
        {
            // the first answer proves the cluster is there; then the watch lease is renewed every few seconds
            c.Ask<StatusReply>(new GetStatus());
            var printer = c.System.ActorOf(Props.Create(() => new NoticePrinter(pr.GetValue(json), c)), "watch");
            var stop = new ManualResetEventSlim();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Set(); };
            stop.Wait();
            return 0;
        }));
        return cmd;
    }

    /// <summary>Renews the watch through the ClusterClient and prints each notice once (by coordinator and sequence).</summary>
    sealed class NoticePrinter : ReceiveActor, IWithTimers
    {
        sealed class Renew
        {
            public static readonly Renew Instance = new();
        }

        readonly HashSet<(string, long)> _seen = new();
        readonly Queue<(string, long)> _order = new();
        public ITimerScheduler Timers { get; set; } = null!;

        public NoticePrinter(bool json, ConsoleClient client)
        {
            Receive<Renew>(_ => client.Client.Tell(client.Envelope(new Watch(15))));
            Receive<WatchAck>(_ => { });
            Receive<WatchNotice>(n =>
            {
                if (!_seen.Add((n.Coordinator, n.Seq))) return;
                _order.Enqueue((n.Coordinator, n.Seq));
                if (_order.Count > 10000) _seen.Remove(_order.Dequeue());
                Console.WriteLine(json
                    ? JsonSerializer.Serialize(n, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })
                    : string.Create(CultureInfo.InvariantCulture, $"{n.At:HH:mm:ss} {n.Kind,-20} {(n.RunId != null ? n.RunId + " " : "")}{n.Text}"));
            });
            Self.Tell(Renew.Instance);
        }

        protected override void PreStart() => Timers.StartPeriodicTimer("renew", Renew.Instance, TimeSpan.FromSeconds(4));
    }

    static int Reply(ParseResult pr, Option<bool> json, CommandReply reply)
    {
        if (pr.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(reply, Json));
        if (!reply.Ok) throw new UserInputException(reply.Message);
        if (!pr.GetValue(json)) Console.WriteLine(reply.Message);
        return 0;
    }

    /// <summary>This console's operator token (clusters with actorlab.gateway.tokens-file refuse unsigned commands).</summary>
    static readonly Option<string?> TokenFile = new("--token-file")
    {
        Description = "Operator token file (`actorlab token issue` writes it; default $ACTORLAB_CONSOLE_TOKEN); every command is signed with it.",
        Recursive = true,
    };

    static int WithCluster(ParseResult pr, Option<string> contactOption, Func<ConsoleClient, int> action)
    {
        using var client = ConsoleClient.Connect(pr.GetValue(contactOption)!, tls: TlsOptions.Settings(pr), token: OperatorTokens.ForConsole(pr.GetValue(TokenFile)));
        return action(client);
    }

    // ------------------------------------------------------------------ tables

    /// <summary>Tables keep run ids on one line even when the output is a pipe (no terminal width).</summary>
    internal static void WideTables()
    {
        if (Console.IsOutputRedirected || AnsiConsole.Profile.Width < 160) AnsiConsole.Profile.Width = 240;
    }

    internal static void PrintStatus(StatusReply s)
    {
        WideTables();
        var sweeps = new Table().AddColumns("sweep", "state", "runs", "queued", "running", "suspended", "completed", "failed", "cancelled", "results");
        foreach (var x in s.Sweeps)
            sweeps.AddRow(Esc(x.Name), Esc(x.State), N(x.Runs), N(x.Queued), N(x.Running), N(x.Suspended), N(x.Completed), N(x.Failed), N(x.Cancelled),
                Esc(x.ResultsError != null ? "error: " + x.ResultsError : x.ResultsDir ?? ""));
        AnsiConsole.Write(sweeps);
        var nodes = new Table().AddColumns("node", "roles", "state", "device", "slots", "busy", "note");
        foreach (var n in s.Nodes) nodes.AddRow(Esc(n.NodeId), Esc(n.Roles), Esc(n.State), Esc(n.Device), N(n.Slots), N(n.Busy), Esc(n.Note ?? ""));
        AnsiConsole.Write(nodes);
        Console.WriteLine($"coordinator at {s.CoordinatorAddress}; storage {s.StorageRoot}; jobs {s.QueuedJobs} queued, {s.RunningJobs} running");
        Console.WriteLine($"members seen by the answering node: {string.Join(", ", s.Members.Select(m => $"{m.Address} ({m.Roles}) {m.State}{(m.Reachable ? "" : " unreachable")}"))}");
    }

    internal static void PrintRuns(RunsReply r)
    {
        WideTables();
        var t = new Table().AddColumns("run", "state", "step", "checkpoint", "loss", "node", "epoch", "error");
        foreach (var x in r.Runs)
            t.AddRow(Esc(x.RunId), x.State, N(x.Step), N(x.CheckpointStep), x.Loss?.ToString("F4", CultureInfo.InvariantCulture) ?? "",
                Esc(x.Node ?? ""), x.Epoch?.ToString(CultureInfo.InvariantCulture) ?? "", Esc(x.Error ?? ""));
        AnsiConsole.Write(t);
    }

    static int History(ParseResult pr, Option<bool> json, ConsoleClient c, string id, int limit)
    {
        var r = c.Ask<RunEventsReply>(new GetRunEvents(id, limit));
        if (!r.Known) throw new UserInputException($"unknown run '{id}' (`actorlab console runs` lists them)");
        if (pr.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(r, Json));
        else
        {
            PrintHistory(r);
            if (r.Events.Length < r.Total) Console.WriteLine($"the newest {r.Events.Length} of {r.Total} events; more with --limit (up to {RunHistory.MaxLimit})");
        }
        return 0;
    }

    internal static void PrintHistory(RunEventsReply r)
    {
        WideTables();
        var t = new Table().AddColumns("time (UTC)", "event", "step", "details");
        foreach (var e in r.Events)
            t.AddRow(e.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), e.Kind, e.Step is { } s ? N(s) : "", Esc(e.Text));
        AnsiConsole.Write(t);
    }

    static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
    static string Esc(string s) => Markup.Escape(s);
}
