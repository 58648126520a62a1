using System.CommandLine;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Cluster;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Host.Composition;
using ActorLab.Host.Dashboard;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>
/// `actorlab node`: one long-lived cluster member per machine. With no --seed it starts a cluster of its own;
/// with seeds it joins theirs. Its roles say whether it may host the coordinator (and a console gateway) and
/// whether it trains. A node that is downed or leaves exits, for its supervisor to start it again.
/// </summary>
public static class NodeCommands
{
    public const int ExitCannotJoin = 3;

    public static Command Build()
    {
        var node = new NodeOptions();
        var port = new Option<int?>("--port") { Description = "TCP port to listen on (default actorlab.node.port, 4053)." };
        var host = new Option<string?>("--hostname") { Description = "Address to listen on (default actorlab.node.hostname, 127.0.0.1: loopback only)." };
        var publicHost = new Option<string?>("--public-hostname") { Description = "Address other nodes and consoles reach this node at, if not --hostname (NAT, containers)." };
        var seeds = new Option<string[]>("--seed") { Description = "HOST:PORT of a seed node to join (repeatable; the same list on every node). None: start a cluster.", AllowMultipleArgumentsPerToken = false };
        var roles = new Option<string?>("--roles") { Description = "coordinator, trainer or both, comma-separated (default actorlab.node.roles: both)." };
        var logFile = new Option<string?>("--log-file") { Description = "Also log here (default <data-dir>/logs/node.log)." };
        var insecure = new Option<bool>("--insecure") { Description = "Allow a --hostname (or --http-bind) other machines can reach without TLS (only on a network you trust entirely)." };
        var httpPort = new Option<int?>("--http-port") { Description = "Serve the dashboard (sweeps, live runs, loss charts, controls) on this TCP port; none: no dashboard. See docs/dashboard.md." };
        var httpBind = new Option<string?>("--http-bind") { Description = "Address the dashboard listens on (default 127.0.0.1: loopback only; others need --https-certificate or --insecure)." };
        var httpsCert = new Option<string?>("--https-certificate") { Description = "Serve the dashboard over HTTPS with this .pfx (e.g. `actorlab certs issue --node NAME --san HOST`; its password from the .password file beside it)." };
        var httpsPassword = new Option<string?>("--https-password-file") { Description = "The --https-certificate's password file (default: its name with .password; none: no password)." };
        var cmd = new Command("node", "Start a cluster node that runs submitted sweeps; control the cluster with `actorlab console --contact HOST:PORT`.")
        {
            port, host, publicHost, seeds, roles, logFile, insecure, httpPort, httpBind, httpsCert, httpsPassword,
        };
        node.AddTo(cmd);
        var tls = new TlsOptions();
        tls.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            // flags are checked before anything is created (the config build creates the data dir)
            if (pr.GetValue(port) is < 0 or > 65535) throw new UserInputException($"--port must be 0..65535, got {pr.GetValue(port)}.");
            foreach (var seed in pr.GetValue(seeds) ?? []) NodeContact.Parse(seed, "--seed");
            foreach (var (option, name) in new[] { (pr.GetValue(httpBind), "--http-bind"), (pr.GetValue(httpsCert), "--https-certificate"), (pr.GetValue(httpsPassword), "--https-password-file") })
                if (option != null && pr.GetValue(httpPort) == null) throw new UserInputException($"{name} goes with --http-port.");
            var dashboard = pr.GetValue(httpPort) is { } hp
                ? DashboardEndpoint.Parse(pr.GetValue(httpBind), hp, pr.GetValue(insecure), pr.GetValue(httpsCert), pr.GetValue(httpsPassword))
                : null;
            var dataDir = Path.GetFullPath(pr.GetValue(node.DataDir)!);
            var log = Path.GetFullPath(pr.GetValue(logFile) ?? Path.Combine(dataDir, "logs", "node.log"));
            PathChecks.Replaceable(log, "--log-file");
            PathChecks.OutputFolder("--log-file", Path.GetDirectoryName(log));
            var extra = NodeOptions.Logging(log, stdout: true) + "\n";
            if (pr.GetValue(roles) is { } r)
                extra += $"actorlab.node.roles = [{string.Join(", ", Roles.Parse(r.Split(','), "--roles").Select(HoconText.Quote))}]\n";
            if (pr.GetValue(insecure)) extra += "actorlab.node.insecure = on\n";
            extra += tls.Hocon(pr);
            var config = node.Build(pr, extra);
            var endpoint = NodeEndpoint.From(config, pr.GetValue(host), pr.GetValue(publicHost), pr.GetValue(port), pr.GetValue(seeds));
            var rt = ActorLabNode.Start(config, endpoint, warn: w => Console.Error.WriteLine($"warning: {w}"));
            var address = rt.Address;
            Console.WriteLine($"node listening on {address.Host}:{address.Port} ({address}), roles {string.Join(",", rt.Node.Roles)}, " +
                              $"{rt.Node.Slots} {rt.Node.Device} slot(s){(rt.DataPlane is { } dp ? $", data plane {dp.Listener.Endpoint} (advertised {dp.Endpoint.Host}:{dp.Endpoint.Port})" : "")}; data in {rt.Storage.DataDir}, storage {rt.Storage.Root}, journal {rt.Journal.Description}, log {log}");
            var joinWithin = config.GetTimeSpan("actorlab.node.join-timeout", TimeSpan.FromSeconds(40));
            if (!rt.WaitUntilUp(joinWithin))
            {
                var where = endpoint.Seeds.IsEmpty ? "itself" : string.Join(", ", endpoint.Seeds.Select(s => $"{s.Host}:{s.Port}"));
                Console.Error.WriteLine(rt.Tls?.LastRefusal is { } refused
                    ? $"error: cannot join the cluster at {where}: {refused} (are both sides' certificates from the same cluster CA?)"
                    : $"error: cannot join the cluster: no seed answered at {where} within {joinWithin.TotalSeconds:0}s (are the seed nodes running and reachable?).");
                Environment.ExitCode = ExitCannotJoin;
                rt.System.Terminate().Wait(TimeSpan.FromSeconds(10));
                return ExitCannotJoin;
            }
            Console.WriteLine(endpoint.Seeds.IsEmpty
                ? $"started a cluster; other nodes join with: actorlab node --seed {address.Host}:{address.Port} ..."
                : $"joined the cluster of {string.Join(", ", endpoint.Seeds.Select(s => $"{s.Host}:{s.Port}"))}");
            Console.WriteLine($"control it with: actorlab console --contact {address.Host}:{address.Port}{(TlsSettings.From(config).Enabled ? " --tls-certificate CONSOLE.pfx --tls-ca CA.crt" : "")} status");
            DashboardServer? web = null;
            if (dashboard != null)
            {
                try { web = DashboardServer.Start(rt, dashboard); }
                catch (UserInputException)
                {
                    rt.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
                    throw;
                }
                Console.WriteLine($"dashboard at {web.Url}");
            }
            var stop = new ManualResetEventSlim();
            var asked = false;
            rt.Cluster.RegisterOnMemberRemoved(() =>
            {
                if (asked) return;
                Console.WriteLine("node was removed from the cluster (downed): exiting");
                Environment.ExitCode = 1;
            });
            // Ctrl+C and SIGTERM (docker stop, systemd) leave the cluster gracefully and exit 0
            void Ask(PosixSignalContext c) { c.Cancel = true; asked = true; stop.Set(); }
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Ask);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Ask);
            rt.System.WhenTerminated.ContinueWith(_ => stop.Set());
            stop.Wait();
            web?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
            // a graceful stop leaves the cluster first (coordinated shutdown), so the others take over at once
            rt.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
            // what `coordinated-shutdown.exit-clr = on` is for, with the exit code kept (1: downed or removed):
            // a node whose system is gone really exits, whatever threads a library left behind
            Environment.Exit(Environment.ExitCode);
            return Environment.ExitCode;
        });
        return cmd;
    }
}
