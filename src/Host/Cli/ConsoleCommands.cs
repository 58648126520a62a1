using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using ActorLab.Actors;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Sweeps;
using ActorLab.Model.Common;
using Spectre.Console;

namespace ActorLab.Host.Cli;

/// <summary>
/// `actorlab console --contact HOST:PORT VERB`: talks to a running `actorlab node` over Akka remoting. Sweep verbs
/// follow W&amp;B sweeps: pause (no new runs), resume, stop (running runs finish), cancel (running runs end now);
/// suspend RUN checkpoints a run and frees its slot, resume RUN requeues it; watch streams run events and losses.
/// </summary>
public static class ConsoleCommands
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Build()
    {
        var contact = new Option<string>("--contact") { Description = "HOST:PORT of an `actorlab node`.", Required = true, Recursive = true };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables.", Recursive = true };
        var console = new Command("console", "Control a running node: status, runs, submit, pause, resume, stop, cancel, suspend, watch, probe.") { contact, json };

        var status = new Command("status", "Sweeps and nodes.");
        status.SetAction(pr => WithNode(pr, contact, c =>
        {
            var s = c.Ask<StatusReply>(new GetStatus());
            if (pr.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(s, Json));
            else PrintStatus(s);
            return 0;
        }));

        var sweepArg = new Option<string?>("--sweep") { Description = "Only this sweep." };
        var runs = new Command("runs", "Every run with its state, step, checkpoint and loss.") { sweepArg };
        runs.SetAction(pr => WithNode(pr, contact, c =>
        {
            var r = c.Ask<RunsReply>(new GetRuns(pr.GetValue(sweepArg)));
            if (pr.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(r, Json));
            else PrintRuns(r);
            return 0;
        }));

        var file = new Argument<string>("FILE") { Description = "Sweep file (HOCON)." };
        var submit = new Command("submit", "Submit a sweep file (validated here first, then planned by the node).") { file };
        submit.SetAction(pr =>
        {
            var path = pr.GetValue(file)!;
            SweepFile.Load(path); // a bad file is refused before contacting anyone
            return WithNode(pr, contact, c => Reply(pr, json, c.Ask<CommandReply>(new SubmitSweepFile(Path.GetFileName(path), File.ReadAllText(path)))));
        });

        console.Subcommands.Add(status);
        console.Subcommands.Add(runs);
        console.Subcommands.Add(submit);
        console.Subcommands.Add(SweepVerb("pause", "Start no new runs (running runs go on).", contact, json, s => new PauseSweep(s)));
        console.Subcommands.Add(Resume(contact, json));
        console.Subcommands.Add(SweepVerb("stop", "Let running runs finish; start no more.", contact, json, s => new StopSweep(s)));
        console.Subcommands.Add(SweepVerb("cancel", "End running runs now; start no more.", contact, json, s => new CancelSweep(s)));
        var run = new Argument<string>("RUN") { Description = "Run id (sweep/run-name) or run name." };
        var suspend = new Command("suspend", "Checkpoint a running run now and free its slot (`resume RUN` requeues it).") { run };
        suspend.SetAction(pr => WithNode(pr, contact, c => Reply(pr, json, c.Ask<CommandReply>(new SuspendRun(pr.GetValue(run)!)))));
        console.Subcommands.Add(suspend);
        console.Subcommands.Add(WatchCommand(contact, json));
        var probeRun = new Argument<string>("RUN") { Description = "A completed run (run id or name)." };
        var probeLayers = new Option<string>("--layers") { Description = "Layers to probe (range, list or 'all').", DefaultValueFactory = _ => "all" };
        var probeSamples = new Option<int>("--samples") { Description = "Distinct questions to capture.", DefaultValueFactory = _ => 10000 };
        var probe = new Command("probe", "Probe sweep on a completed run: linear probes over layers and positions, one probe actor per free slot; results in RUN/probes/ (see `actorlab probe` for every option).") { probeRun, probeLayers, probeSamples };
        probe.SetAction(pr => ProbeCommands.RunOnNode(pr.GetValue(contact)!, pr.GetValue(probeRun)!, pr.GetValue(probeLayers)!, pr.GetValue(probeSamples)));
        console.Subcommands.Add(probe);
        return console;
    }

    static Command SweepVerb(string name, string description, Option<string> contact, Option<bool> json, Func<string?, ISweepCommand> make)
    {
        var sweep = new Argument<string?>("SWEEP") { Description = "Sweep name (default: every sweep still going).", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command(name, description) { sweep };
        cmd.SetAction(pr => WithNode(pr, contact, c => Reply(pr, json, c.Ask<CommandReply>(make(pr.GetValue(sweep))))));
        return cmd;
    }

    static Command Resume(Option<string> contact, Option<bool> json)
    {
        var target = new Argument<string?>("RUN|SWEEP") { Description = "A suspended run to requeue, or a paused sweep (default: every paused sweep).", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("resume", "Resume paused sweeps, or requeue a suspended run.") { target };
        cmd.SetAction(pr => WithNode(pr, contact, c =>
        {
            var t = pr.GetValue(target);
            if (t == null) return Reply(pr, json, c.Ask<CommandReply>(new ResumeSweep(null)));
            var runs = c.Ask<RunsReply>(new GetRuns(null));
            var isRun = runs.Runs.Any(r => r.RunId == t || r.RunId.EndsWith("/" + t, StringComparison.Ordinal));
            var status = c.Ask<StatusReply>(new GetStatus());
            if (!isRun && status.Sweeps.All(s => s.Name != t))
                throw new UserInputException($"unknown run or sweep '{t}' (see `actorlab console runs`).");
            return Reply(pr, json, c.Ask<CommandReply>(isRun ? new ResumeRun(t) : new ResumeSweep(t)));
        }));
        return cmd;
    }

    static Command WatchCommand(Option<string> contact, Option<bool> json)
    {
        var cmd = new Command("watch", "Stream run events and losses until Ctrl+C.");
        cmd.SetAction(pr => WithNode(pr, contact, c =>
        {
            var asJson = pr.GetValue(json);
            var gone = new TaskCompletionSource();
            var printer = c.System.ActorOf(Props.Create(() => new NoticePrinter(asJson, c.Coordinator, gone)));
            c.Coordinator.Tell(new Watch(printer));
            var stop = new ManualResetEventSlim();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Set(); };
            gone.Task.ContinueWith(_ => stop.Set());
            stop.Wait();
            if (gone.Task.IsCompleted) throw new UserInputException($"the node at {pr.GetValue(contact)} went away.");
            c.Coordinator.Tell(new Unwatch(printer));
            return 0;
        }));
        return cmd;
    }

    sealed class NoticePrinter : ReceiveActor
    {
        public NoticePrinter(bool json, IActorRef coordinator, TaskCompletionSource gone)
        {
            Context.Watch(coordinator);
            Receive<WatchNotice>(n => Console.WriteLine(json
                ? JsonSerializer.Serialize(n, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })
                : string.Create(CultureInfo.InvariantCulture, $"{n.At:HH:mm:ss} {n.Kind,-20} {(n.RunId != null ? n.RunId + " " : "")}{n.Text}")));
            Receive<Terminated>(_ => gone.TrySetResult());
        }
    }

    static int Reply(ParseResult pr, Option<bool> json, CommandReply reply)
    {
        if (pr.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(reply, Json));
        if (!reply.Ok) throw new UserInputException(reply.Message);
        if (!pr.GetValue(json)) Console.WriteLine(reply.Message);
        return 0;
    }

    // ------------------------------------------------------------------ connection

    static int WithNode(ParseResult pr, Option<string> contactOption, Func<NodeClient, int> action)
    {
        using var client = NodeClient.Connect(pr.GetValue(contactOption)!, "actorlab-console");
        return action(client);
    }

    // ------------------------------------------------------------------ tables

    /// <summary>Tables keep run ids on one line even when the output is a pipe (no terminal width).</summary>
    static void WideTables()
    {
        if (Console.IsOutputRedirected || AnsiConsole.Profile.Width < 160) AnsiConsole.Profile.Width = 240;
    }

    internal static void PrintStatus(StatusReply s)
    {
        WideTables();
        var sweeps = new Table().AddColumns("sweep", "status", "runs", "queued", "running", "suspended", "completed", "failed", "cancelled", "results");
        foreach (var x in s.Sweeps)
            sweeps.AddRow(Esc(x.Name), Esc(x.Status), N(x.Runs), N(x.Queued), N(x.Running), N(x.Suspended), N(x.Completed), N(x.Failed), N(x.Cancelled),
                Esc(x.CapacityError != null ? "error: " + x.CapacityError : x.CapacityDir ?? ""));
        AnsiConsole.Write(sweeps);
        var nodes = new Table().AddColumns("node", "device", "slots", "busy", "seen");
        foreach (var n in s.Nodes) nodes.AddRow(Esc(n.NodeId), n.Device, N(n.Slots), N(n.Busy), $"{n.LastSeenSecondsAgo:0.0}s ago");
        AnsiConsole.Write(nodes);
        Console.WriteLine($"data dir: {s.DataDir}");
    }

    internal static void PrintRuns(RunsReply r)
    {
        WideTables();
        var t = new Table().AddColumns("run", "state", "step", "checkpoint", "loss", "node", "epoch", "error");
        foreach (var x in r.Runs)
            t.AddRow(Esc(x.RunId), x.Status, N(x.Step), N(x.CheckpointStep), x.TrainLoss?.ToString("F4", CultureInfo.InvariantCulture) ?? "",
                Esc(x.Node ?? ""), x.Epoch?.ToString(CultureInfo.InvariantCulture) ?? "", Esc(x.Error ?? ""));
        AnsiConsole.Write(t);
    }

    static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
    static string Esc(string s) => Markup.Escape(s);
}
