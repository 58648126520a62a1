using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Configuration;
using ActorLab.Actors.Config;
using ActorLab.Actors.Gateway;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Control;

/// <summary>
/// A short-lived client of an ActorLab cluster (the console, `probe --run`): a remoting-only actor system with a
/// ClusterClient to the receptionists of the contact nodes, so it works whichever node hosts the coordinator,
/// before and after a failover. It asks a gateway the public commands. No answer at all means no node answers at
/// the contacts; an answer that the coordinator did not answer (<see cref="NoCoordinator"/>) means the node is up
/// and the coordinator is not (starting or failing over). Dispose ends the system.
/// </summary>
public sealed class ConsoleClient : IDisposable
{
    readonly TimeSpan _timeout;
    readonly string _contacts;
    readonly ClusterTls? _tls;

    readonly OperatorToken? _token;

    ConsoleClient(ActorSystem system, IActorRef client, TimeSpan timeout, string contacts, ClusterTls? tls, OperatorToken? token)
    {
        _tls = tls;
        _token = token;
        System = system;
        Client = client;
        _timeout = timeout;
        _contacts = contacts;
    }

    public ActorSystem System { get; }
    /// <summary>The ClusterClient: send it <see cref="ClusterClient.Send"/> to <see cref="ConsoleGateway.Path"/>.</summary>
    public IActorRef Client { get; }
    public TimeSpan Timeout => _timeout;

    /// <summary>A client of the cluster at the contacts ("HOST:PORT[,HOST:PORT...]"); with <paramref name="tls"/>, over mutual TLS.</summary>
    /// <param name="token">Signs every request (a cluster with actorlab.gateway.tokens-file refuses unsigned ones).</param>
    public static ConsoleClient Connect(string contacts, string clientName = "actorlab-console", TlsSettings? tls = null, OperatorToken? token = null)
    {
        var parsed = NodeContact.ParseList(contacts);
        var certificates = tls?.Load();
        var config = ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp.port = 0
            akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
            akka.loglevel = OFF
            akka.stdout-loglevel = OFF
            akka.remote.log-remote-lifecycle-events = off
            akka.cluster.client.establishing-get-contacts-interval = 500ms
            akka.cluster.client.refresh-contacts-interval = 5s
            """).WithFallback(ActorLabConfig.Defaults).WithFallback(Akka.Cluster.Tools.Client.ClusterClientReceptionist.DefaultConfig())
            // ClusterClient tunnels every request in a pub-sub Send: its protobuf serializer is bound there, and the
            // reflection-based JSON default it would otherwise fall to is refused on both sides (RefuseUnboundSerializer)
            .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig());
        var timeout = config.GetTimeSpan("actorlab.console.ask-timeout", TimeSpan.FromSeconds(10));
        var system = certificates == null ? ActorSystem.Create(clientName, config) : ActorSystem.Create(clientName, certificates.Bootstrap(config));
        var initial = parsed.Select(c => ActorPath.Parse($"{ClusterTls.Scheme(certificates)}://{ActorLabSystem.Name}@{c.Host}:{c.Port}/system/receptionist")).ToImmutableHashSet();
        var client = system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system).WithInitialContacts(initial)), "client");
        return new ConsoleClient(system, client, timeout, contacts, certificates, token);
    }

    /// <summary>
    /// Asks a gateway; <see cref="UserInputException"/> when nobody answers within the timeout, or when the node
    /// answers that no coordinator does.
    /// </summary>
    public T Ask<T>(object message, TimeSpan? timeout = null)
    {
        var t = timeout ?? ISlowAsk.Wait(message, _timeout);
        object reply;
        try { reply = Client.Ask<object>(Envelope(message), t).GetAwaiter().GetResult(); }
        catch (AskTimeoutException)
        {
            // a refused handshake looks like silence to ClusterClient: say what TLS saw, if anything
            if (_tls?.LastRefusal is { } refused)
                throw new UserInputException($"no ActorLab node answers at {_contacts} within {t.TotalSeconds:0}s: this console {refused}.");
            throw new UserInputException($"no ActorLab node answers at {_contacts} within {t.TotalSeconds:0}s (is `actorlab node` running there?" +
                                         (_tls == null ? ")." : " Does it have TLS on, with a certificate of the same cluster CA as this console's --tls-certificate and --tls-ca?)."));
        }
        return reply switch
        {
            T ok => ok,
            NoCoordinator n => throw new UserInputException(n.Message),
            Refused r => throw new UserInputException(r.Message),
            _ => throw new UserInputException($"unexpected answer {reply.GetType().Name} from {_contacts}"),
        };
    }

    /// <summary>What to tell the ClusterClient for one gateway request: signed with this console's token, if it has one.</summary>
    public ClusterClient.Send Envelope(object message) =>
        new(ConsoleGateway.Path, _token is null ? message : OperatorTokens.Sign(_token, message, DateTimeOffset.UtcNow), localAffinity: true);

    public void Dispose() => System.Terminate().Wait(TimeSpan.FromSeconds(5));
}

/// <summary>The name every ActorLab actor system has, so contacts are only host and port.</summary>
public static class ActorLabSystem
{
    public const string Name = "actorlab";
}
