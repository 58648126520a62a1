using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using ActorLab.Actors.Control;
using ActorLab.Actors.Gateway;

namespace ActorLab.Host.Dashboard;

/// <summary>
/// How the dashboard reaches the cluster: the console gateways (registered on DistributedPubSub by the ClusterClient
/// receptionist), through this node's pub-sub mediator, so it works on any node whichever node hosts the
/// coordinator. Each request is signed with the browser's token when it has one, exactly as a console's; the
/// gateway treats the dashboard's actors as consoles (<see cref="ConsoleGateway.DashboardPrefix"/>).
/// </summary>
public sealed class DashboardGateway(ActorSystem system, TimeSpan timeout)
{
    long _next;

    public ActorSystem System => system;

    /// <summary>The gateway's answer (a reply, <see cref="Refused"/> or <see cref="NoCoordinator"/>), or a <see cref="NoCoordinator"/> when none answered in time.</summary>
    public Task<object> Ask(object message, OperatorToken? token)
    {
        var answer = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var wait = ISlowAsk.Wait(message, timeout);
        system.ActorOf(Props.Create(() => new Asker(Wire(message, token), answer, wait)), $"{ConsoleGateway.DashboardPrefix}ask-{Interlocked.Increment(ref _next)}");
        return answer.Task;
    }

    public static object Wire(object message, OperatorToken? token) => token is null ? message : OperatorTokens.Sign(token, message, DateTimeOffset.UtcNow);

    public static Send ToGateway(object wire) => new(ConsoleGateway.Path, wire, localAffinity: true);

    /// <summary>One request: sends it to a gateway, passes on the first answer (or the timeout) and stops.</summary>
    sealed class Asker : ReceiveActor
    {
        public Asker(object wire, TaskCompletionSource<object> answer, TimeSpan timeout)
        {
            DistributedPubSub.Get(Context.System).Mediator.Tell(ToGateway(wire), Self);
            Context.SetReceiveTimeout(timeout);
            Receive<ReceiveTimeout>(_ =>
            {
                answer.TrySetResult(new NoCoordinator($"no console gateway answered within {timeout.TotalSeconds:0}s (is a coordinator-role node up?)"));
                Context.Stop(Self);
            });
            ReceiveAny(m =>
            {
                answer.TrySetResult(m);
                Context.Stop(Self);
            });
        }
    }
}
