using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.Client;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Pattern;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.DataPlane;
using ActorLab.Actors.Gateway;
using ActorLab.Actors.Node;
using ActorLab.Actors.Training;
using ActorLab.Host.Cli;
using ActorLab.Model.Common;
using ActorLab.Model.Storage;

namespace ActorLab.Host.Composition;

/// <summary>Where a node listens and whom it joins (flags over `actorlab.node`).</summary>
public sealed record NodeEndpoint(string Hostname, string PublicHostname, int Port, ImmutableArray<(string Host, int Port)> Seeds)
{
    public static NodeEndpoint From(Akka.Configuration.Config c, string? hostname = null, string? publicHostname = null, int? port = null,
        IReadOnlyList<string>? seeds = null)
    {
        var v = new ConfigValues(c);
        var host = hostname ?? v.NonEmpty("actorlab.node.hostname");
        var pub = publicHostname ?? v.String("actorlab.node.public-hostname");
        var p = port ?? v.Int("actorlab.node.port", 0, 65535);
        if (p is < 0 or > 65535) throw new UserInputException($"--port must be 0..65535, got {p}.");
        var seedList = (seeds is { Count: > 0 } ? seeds : v.List("actorlab.node.seeds"))
            .Select(s => NodeContact.Parse(s, "--seed")).ToImmutableArray();
        return new NodeEndpoint(host, pub.Length == 0 ? host : pub, p, seedList);
    }
}

/// <summary>
/// The composition root of one ActorLab node, and the one code path of `actorlab node` and `sweep run`: an actor
/// system that is a cluster member (with no seeds it starts a cluster of its own), persistence on the configured
/// journal, and by role the coordinator singleton (behind a backoff supervisor, so a journal outage is retried),
/// the console gateway registered with the ClusterClient receptionist, and the node agent with its trainer slots.
/// Everything reaches the coordinator through the singleton proxy.
/// </summary>
public sealed class ActorLabNode : IAsyncDisposable
{
    public ActorSystem System { get; }
    public Cluster Cluster { get; }
    public IActorRef Gateway { get; }
    public IActorRef CoordinatorProxy { get; }
    public NodeSettings Node { get; }
    public StorageSettings Storage { get; }
    public JournalSettings Journal { get; }
    public Address Address => Cluster.SelfAddress;

    readonly DataDirLock _owner;
    /// <summary>This node's TLS (null: plain TCP); its last refused peer explains a failed join.</summary>
    public ClusterTls? Tls { get; }
    /// <summary>The trainer node's data plane for cross-node runs (null: none).</summary>
    public NodeDataPlane? DataPlane { get; }
    /// <summary>Completes once this node has let go of its data dir (after its actor system terminated).</summary>
    public Task DataDirReleased { get; }

    ActorLabNode(ActorSystem system, IActorRef gateway, IActorRef proxy, NodeSettings node, StorageSettings storage, JournalSettings journal,
        DataDirLock owner, ClusterTls? tls, NodeDataPlane? dataPlane)
    {
        _owner = owner;
        Tls = tls;
        DataPlane = dataPlane;
        // the data dir is this node's while its actor system lives (a node that downs itself lets go of it)
        DataDirReleased = system.WhenTerminated.ContinueWith(_ => owner.Dispose());
        System = system;
        Cluster = Cluster.Get(system);
        Gateway = gateway;
        CoordinatorProxy = proxy;
        Node = node;
        Storage = storage;
        Journal = journal;
    }

    /// <param name="config">From <see cref="ActorLabConfig.Build"/>.</param>
    /// <param name="backend">The science; null = the real pipeline (with the stand-in for test sweeps, if configured).</param>
    public static ActorLabNode Start(Akka.Configuration.Config config, NodeEndpoint endpoint, ITrainingBackend? backend = null, Action<string>? warn = null)
    {
        var storage = StorageSettings.From(config);
        // first of all, so that a second process on this data dir touches nothing (journal, leases, run files)
        var owner = DataDirLock.Acquire(storage.DataDir, OwnerCommand());
        try
        {
            CleanAbandonedTemps(storage, warn);
            return Start(config, endpoint, backend, warn, storage, owner);
        }
        catch
        {
            owner.Dispose();
            throw;
        }
    }

    /// <summary>Temp files and folders of writes killed mid-way (a checkpoint, a table, a tokenizer) are removed at start.</summary>
    static void CleanAbandonedTemps(StorageSettings storage, Action<string>? warn)
    {
        var shared = !string.Equals(storage.Root, storage.DataDir, StringComparison.Ordinal);
        var removed = TempFiles.CleanUnder(storage.DataDir, sharedWithOtherMachines: false, skip: shared ? storage.Root : null);
        if (shared) removed.AddRange(TempFiles.CleanUnder(storage.Root, sharedWithOtherMachines: true));
        if (removed.Count > 0)
            warn?.Invoke($"removed {removed.Count} temp file(s) of interrupted writes, e.g. {removed[0]}");
    }

    static string OwnerCommand() =>
        string.Join(' ', Environment.GetCommandLineArgs().Select(a => a.Contains(' ') ? $"'{a}'" : a)) is var c && c.Length > 200 ? c[..200] + "..." : c;

    static ActorLabNode Start(Akka.Configuration.Config config, NodeEndpoint endpoint, ITrainingBackend? backend, Action<string>? warn,
        StorageSettings storage, DataDirLock owner)
    {
        var journal = JournalSettings.From(config);
        var node = NodeSettings.From(config, DeviceProbe.CudaDevices);
        var selfJoin = endpoint.Seeds.IsEmpty;
        if (journal.IsSqlite && node.IsCoordinator && !selfJoin)
            throw new UserInputException(
                "a coordinator-role node that joins other nodes cannot use the SQLite journal (it is one machine's file: " +
                "two coordinators would keep two histories). Use PostgreSQL (--config hocon/cluster.conf) or --roles trainer.");
        // a damaged event, snapshot or file would fail the coordinator's recovery over and over (or hang the plugin):
        // one clear error now, before any actor system exists
        if (node.IsCoordinator && JournalInspector.Check(journal, recoveryOnly: true) is { Healthy: false } damaged)
            throw new UserInputException($"the coordinator journal is damaged: {damaged.Summary()}. `actorlab db check` lists every problem; " +
                                         "`actorlab db repair` drops them (after a backup), keeping every readable event.");
        var tls = TlsSettings.From(config).Load();
        RefuseExposedWithoutTls(endpoint, config, tls != null);
        RefuseTakenAddress(endpoint);
        var seeds = string.Join(", ", endpoint.Seeds.Select(s => HoconText.Quote($"{ClusterTls.Scheme(tls)}://{ActorLabSystem.Name}@{s.Host}:{s.Port}")));
        var roles = string.Join(", ", node.Roles.Concat(journal.IsSqlite && node.IsCoordinator ? [JournalGuard.SqliteRole] : []).Select(HoconText.Quote));
        var cluster = ConfigurationFactory.ParseString($"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = {HoconText.Quote(endpoint.Hostname)}
            akka.remote.dot-netty.tcp.public-hostname = {HoconText.Quote(endpoint.PublicHostname)}
            akka.remote.dot-netty.tcp.port = {endpoint.Port}
            akka.cluster.roles = [{roles}]
            akka.cluster.seed-nodes = [{seeds}]
            akka.cluster.shutdown-after-unsuccessful-join-seed-nodes = {(selfJoin ? "off" : "30s")}
            """);
        var full = cluster.WithFallback(config)
            .WithFallback(ClusterSingletonManager.DefaultConfig())
            .WithFallback(ClusterClientReceptionist.DefaultConfig())
            .WithFallback(DistributedPubSub.DefaultConfig());
        ActorSystem system;
        try
        {
            system = tls == null ? ActorSystem.Create(ActorLabSystem.Name, full) : ActorSystem.Create(ActorLabSystem.Name, tls.Bootstrap(full));
        }
        catch (Exception e)
        {
            var inner = e;
            var socket = false;
            for (; inner.InnerException != null; inner = inner.InnerException) socket |= inner is System.Net.Sockets.SocketException;
            socket |= inner is System.Net.Sockets.SocketException || inner.Message.Contains("bind", StringComparison.OrdinalIgnoreCase)
                      || inner.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase);
            throw socket
                ? new UserInputException($"cannot listen on {endpoint.Hostname}:{endpoint.Port}: {inner.Message} (is another node using that address?)")
                : new UserInputException($"cannot start the node on {endpoint.Hostname}:{endpoint.Port}: {inner.Message}");
        }
        var self = Cluster.Get(system);
        if (node.IsCoordinator && JournalCheck.Probe(system, TimeSpan.FromSeconds(20)) is { } why)
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            throw new UserInputException($"cannot use the coordinator journal ({journal.Description}): {why}" +
                                         (journal.IsSqlite ? "" : " (does the database exist? `actorlab db init` creates its tables)"));
        }
        if (selfJoin) self.Join(self.SelfAddress);

        var proxy = system.ActorOf(ClusterSingletonProxy.Props($"/user/{SingletonName}", ClusterSingletonProxySettings.Create(system)), "coordinator-proxy");
        IActorRef gateway = ActorRefs.Nobody;
        NodeDataPlane? dataPlane = null;
        if (node.IsCoordinator)
        {
            // a journal outage stops the coordinator (it cannot persist); it is started again, backing off up to 10 s
            var coordinator = Backoff.OnStop(SweepCoordinator.Props(CoordinatorSettings.From(config), storage), "coordinator",
                    TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), 0.2)
                .WithReplyWhileStopped(new NoCoordinator("the coordinator is restarting (a journal failure: see the node's log)"));
            system.ActorOf(ClusterSingletonManager.Props(BackoffSupervisor.Props(coordinator), PoisonPill.Instance,
                ClusterSingletonManagerSettings.Create(system)), SingletonName);
            gateway = system.ActorOf(ConsoleGateway.Props(proxy, GatewaySettings.From(config)), ConsoleGateway.Name);
            ClusterClientReceptionist.Get(system).RegisterService(gateway);
            system.ActorOf(JournalGuard.Props(), "journal-guard");
        }
        if (node.IsTrainer)
        {
            backend ??= Backend(config, storage, node, warn);
            dataPlane = StartDataPlane(config, endpoint, tls);
            if (dataPlane != null) system.WhenTerminated.ContinueWith(_ => dataPlane.Listener.Dispose());
            system.ActorOf(NodeAgent.Props(NodeIds.Of(self.SelfUniqueAddress), node, proxy, backend, dataPlane), NodeAgent.Name);
        }
        return new ActorLabNode(system, gateway, proxy, node, storage, journal, owner, tls, dataPlane);
    }

    public const string SingletonName = "coordinator-singleton";

    /// <summary>The data plane's listener on the node's address (TLS as the cluster's), advertised at its public hostname.</summary>
    static NodeDataPlane? StartDataPlane(Akka.Configuration.Config config, NodeEndpoint endpoint, ClusterTls? tls)
    {
        var settings = DataPlaneSettings.From(config);
        if (!settings.Enabled) return null;
        var bind = global::System.Net.IPAddress.TryParse(endpoint.Hostname, out var ip) ? ip
            : global::System.Net.Dns.GetHostAddresses(endpoint.Hostname).FirstOrDefault()
              ?? throw new UserInputException($"--hostname {endpoint.Hostname} resolves to no address for the data plane.");
        DataPlaneListener listener;
        try { listener = new DataPlaneListener(bind, settings.Port, tls); }
        catch (global::System.Net.Sockets.SocketException e)
        {
            throw new UserInputException($"cannot listen on {bind}:{settings.Port} for the data plane (actorlab.data-plane.port): {e.Message}");
        }
        return new NodeDataPlane(listener, new DataPlaneEndpoint(endpoint.PublicHostname, listener.Port), settings);
    }

    /// <summary>
    /// Loopback by default: a node other machines can reach must speak TLS, or be told `--insecure` on purpose.
    /// </summary>
    static void RefuseExposedWithoutTls(NodeEndpoint endpoint, Akka.Configuration.Config config, bool tls)
    {
        if (tls || IsLoopback(endpoint.Hostname)) return;
        if (new ConfigValues(config).Bool("actorlab.node.insecure")) return;
        throw new UserInputException(
            $"--hostname {endpoint.Hostname} can be reached from other machines, and remoting without TLS lets anyone there send this node " +
            "commands: enable TLS (--tls-certificate and --tls-ca, or actorlab.tls; see docs/cluster.md) or pass --insecure on a network you trust entirely.");
    }

    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (global::System.Net.IPAddress.TryParse(host, out var ip) && global::System.Net.IPAddress.IsLoopback(ip));

    /// <summary>
    /// Refuses an address another process listens on. Remoting binds with address reuse (so a restarted node
    /// can take its port back at once), which on Linux would also let a second node share a live port.
    /// </summary>
    static void RefuseTakenAddress(NodeEndpoint endpoint)
    {
        if (endpoint.Port == 0) return;
        using var probe = new System.Net.Sockets.TcpClient();
        try
        {
            if (!probe.ConnectAsync(endpoint.Hostname, endpoint.Port).Wait(TimeSpan.FromMilliseconds(500)) || !probe.Connected) return;
        }
        catch (AggregateException) { return; }
        throw new UserInputException($"cannot listen on {endpoint.Hostname}:{endpoint.Port}: another process already listens there (is another node using that address?)");
    }

    /// <summary>The real pipeline, with the stand-in for the sweeps named in `actorlab.testing.stand-in-sweeps` (tests, benchmarks).</summary>
    static ITrainingBackend Backend(Akka.Configuration.Config config, StorageSettings storage, NodeSettings node, Action<string>? warn)
    {
        var real = new PipelineBackend(storage.Storage, node.TorchThreads, warn, ProbeCommands.RunJob);
        var standIn = config.GetStringList("actorlab.testing.stand-in-sweeps");
        if (standIn.Count == 0) return real;
        return new SwitchingBackend(real, new StandInBackend(storage.Storage) { StepTime = config.GetTimeSpan("actorlab.testing.stand-in-step-time", TimeSpan.FromMilliseconds(20)) },
            standIn.ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>Waits until this node is an Up member; false when it could not join within the time.</summary>
    public bool WaitUntilUp(TimeSpan timeout)
    {
        var up = new TaskCompletionSource();
        Cluster.RegisterOnMemberUp(() => up.TrySetResult());
        return up.Task.Wait(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
        _owner.Dispose();
    }
}
