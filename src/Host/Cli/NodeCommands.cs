using System.CommandLine;
using ActorLab.Actors;
using ActorLab.Actors.Training;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>`actorlab node`: a long-lived node (coordinator + trainer slots) that consoles reach over TCP.</summary>
public static class NodeCommands
{
    public static Command Build()
    {
        var node = new SweepCommands.NodeOptions();
        var port = new Option<int?>("--port") { Description = "TCP port to listen on (default actorlab.node.port, 4053)." };
        var host = new Option<string?>("--hostname") { Description = "Address to listen on (default actorlab.node.hostname, 127.0.0.1: loopback only)." };
        var logFile = new Option<string?>("--log-file") { Description = "Also log here (default <data-dir>/logs/node.log)." };
        var cmd = new Command("node", "Start a node that runs submitted sweeps; control it with `actorlab console --contact HOST:PORT`.") { port, host, logFile };
        node.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var p = pr.GetValue(port);
            if (p is < 0 or > 65535) throw new UserInputException($"--port must be 0..65535, got {p}.");
            var dataDir = Path.GetFullPath(pr.GetValue(node.DataDir)!);
            var log = Path.GetFullPath(pr.GetValue(logFile) ?? Path.Combine(dataDir, "logs", "node.log"));
            PathChecks.Replaceable(log, "--log-file");
            PathChecks.OutputFolder("--log-file", Path.GetDirectoryName(log));
            var config = node.Build(pr, $$"""
                actorlab.log-file = {{ActorLab.Actors.Config.HoconText.Quote(log)}}
                akka.loggers = ["Akka.Event.DefaultLogger, Akka", "ActorLab.Actors.Config.FileLogger, ActorLab.Actors"]
                akka.stdout-loglevel = INFO
                """);
            var backend = new PipelineBackend(config.GetInt("actorlab.node.torch-threads-per-slot", 1), w => Console.Error.WriteLine($"warning: {w}"));
            var listen = p ?? config.GetInt("actorlab.node.port", 4053);
            ActorLabRuntime rt;
            try
            {
                rt = ActorLabRuntime.Start(config, backend, listen, pr.GetValue(host));
            }
            catch (Exception e) when (e is not UserInputException)
            {
                throw new UserInputException($"cannot start the node on port {listen}: {Unwrap(e).Message}");
            }
            var address = ((Akka.Actor.ExtendedActorSystem)rt.System).Provider.DefaultAddress;
            Console.WriteLine($"node listening on {address.Host}:{address.Port} ({address}), data in {rt.DataDir}, log {log}");
            Console.WriteLine($"control it with: actorlab console --contact {address.Host}:{address.Port} status");
            var stop = new ManualResetEventSlim();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Set(); };
            AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Set();
            rt.System.WhenTerminated.ContinueWith(_ => stop.Set());
            stop.Wait();
            rt.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
            return 0;
        });
        return cmd;
    }

    static Exception Unwrap(Exception e)
    {
        while (e.InnerException != null) e = e.InnerException;
        return e;
    }
}
