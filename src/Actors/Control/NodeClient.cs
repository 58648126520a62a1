using ActorLab.Actors.Config;
using ActorLab.Model.Common;
using Akka.Actor;
using Akka.Configuration;

namespace ActorLab.Actors.Control;

/// <summary>
/// A short-lived client of a running `actorlab node` (the console, `probe --run`): a remoting-only actor system on
/// loopback that resolves the node's coordinator and asks it the public control messages. Dispose ends the system.
/// </summary>
public sealed class NodeClient : IDisposable
{
    readonly TimeSpan _timeout;
    readonly string _contact;

    NodeClient(ActorSystem system, IActorRef coordinator, TimeSpan timeout, string contact)
    {
        System = system;
        Coordinator = coordinator;
        _timeout = timeout;
        _contact = contact;
    }

    public ActorSystem System { get; }
    public IActorRef Coordinator { get; }

    /// <summary>Connects to the node at HOST:PORT; a node that isn't there is a <see cref="UserInputException"/>.</summary>
    public static NodeClient Connect(string contact, string clientName)
    {
        var (host, port) = NodeContact.Parse(contact);
        var config = ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp.port = 0
            akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
            akka.loglevel = OFF
            akka.stdout-loglevel = OFF
            akka.remote.log-remote-lifecycle-events = off
            """).WithFallback(ActorLabConfig.Defaults);
        var timeout = config.GetTimeSpan("actorlab.console.ask-timeout", TimeSpan.FromSeconds(5));
        var system = ActorSystem.Create(clientName, config);
        try
        {
            var coordinator = system.ActorSelection($"akka.tcp://{ActorLabRuntime.SystemName}@{host}:{port}/user/coordinator")
                .ResolveOne(timeout).GetAwaiter().GetResult();
            return new NodeClient(system, coordinator, timeout, contact);
        }
        catch (Exception e) when (e is ActorNotFoundException or AskTimeoutException or TimeoutException)
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(5));
            throw new UserInputException($"no ActorLab node answers at {contact} (is `actorlab node --port {port}` running?).");
        }
    }

    /// <summary>Asks the coordinator; no answer within the console ask-timeout is a <see cref="UserInputException"/>.</summary>
    public T Ask<T>(object message)
    {
        try { return Coordinator.Ask<T>(message, _timeout).GetAwaiter().GetResult(); }
        catch (AskTimeoutException) { throw new UserInputException($"the node at {_contact} did not answer within {_timeout.TotalSeconds:0}s."); }
    }

    public void Dispose() => System.Terminate().Wait(TimeSpan.FromSeconds(5));
}
