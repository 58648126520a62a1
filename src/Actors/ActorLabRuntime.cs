using Akka.Actor;
using Akka.Configuration;
using ActorLab.Actors.Config;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Node;
using ActorLab.Actors.Training;

namespace ActorLab.Actors;

/// <summary>
/// Boots one ActorLab node: an ActorSystem named "actorlab" with the coordinator (`/user/coordinator`) and the
/// node agent with its trainer slots (`/user/node`). `sweep run` uses it in single-process mode (no remoting);
/// `actorlab node` with remoting on, so consoles can reach `/user/coordinator` over TCP.
/// </summary>
public sealed class ActorLabRuntime : IAsyncDisposable
{
    public const string SystemName = "actorlab";

    public ActorSystem System { get; }
    public IActorRef Coordinator { get; }
    public IActorRef Node { get; }
    public Akka.Configuration.Config Config { get; }
    public string DataDir { get; }

    ActorLabRuntime(ActorSystem system, IActorRef coordinator, IActorRef node, Akka.Configuration.Config config)
    {
        System = system;
        Coordinator = coordinator;
        Node = node;
        Config = config;
        DataDir = config.GetString("actorlab.data-dir");
    }

    /// <param name="config">From <see cref="ActorLabConfig.Build"/>.</param>
    /// <param name="remotePort">Listen on this TCP port (0 = any free port); null = no remoting (single process).</param>
    public static ActorLabRuntime Start(Akka.Configuration.Config config, ITrainingBackend backend, int? remotePort = null, string? hostname = null)
    {
        if (remotePort is { } port)
        {
            var host = hostname ?? config.GetString("actorlab.node.hostname", "127.0.0.1");
            config = ConfigurationFactory.ParseString($$"""
                akka.actor.provider = remote
                akka.remote.dot-netty.tcp.port = {{port}}
                akka.remote.dot-netty.tcp.hostname = "{{host}}"
                """).WithFallback(config);
        }
        var system = ActorSystem.Create(SystemName, config);
        var settings = CoordinatorSettings.From(config, singleProcess: remotePort == null);
        var coordinator = system.ActorOf(SweepCoordinator.Props(settings, backend), "coordinator");
        var nodeSettings = NodeSettings.From(config);
        var nodeId = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        var node = system.ActorOf(NodeAgent.Props(nodeId, nodeSettings, coordinator, backend), "node");
        return new ActorLabRuntime(system, coordinator, node, config);
    }

    public async ValueTask DisposeAsync()
    {
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);
    }
}
