using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using ActorLab.Actors.Control;
using ActorLab.Actors.Gateway;

namespace ActorLab.Host.Dashboard;

/// <summary>
/// One browser's live feed of run events and losses: the console's watch lease (<see cref="Watch"/>, renewed every
/// few seconds, signed with the browser's token), each notice once (by coordinator and sequence) into a channel that
/// the server-sent-events response drains. Stopped when the browser goes away.
/// </summary>
public sealed class DashboardWatch : ReceiveActor, IWithTimers
{
    sealed class Renew
    {
        public static readonly Renew Instance = new();
    }

    readonly HashSet<(string, long)> _seen = new();
    readonly Queue<(string, long)> _order = new();
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(OperatorToken? token, ChannelWriter<object> notices) => Akka.Actor.Props.Create(() => new DashboardWatch(token, notices));

    public DashboardWatch(OperatorToken? token, ChannelWriter<object> notices)
    {
        var mediator = DistributedPubSub.Get(Context.System).Mediator;
        Receive<Renew>(_ => mediator.Tell(DashboardGateway.ToGateway(DashboardGateway.Wire(new Watch(15), token)), Self));
        Receive<WatchAck>(_ => { });
        Receive<Refused>(r => notices.TryWrite(r));
        Receive<WatchNotice>(n =>
        {
            if (!_seen.Add((n.Coordinator, n.Seq))) return;
            _order.Enqueue((n.Coordinator, n.Seq));
            if (_order.Count > 10000) _seen.Remove(_order.Dequeue());
            notices.TryWrite(n);
        });
        Self.Tell(Renew.Instance);
    }

    protected override void PreStart() => Timers.StartPeriodicTimer("renew", Renew.Instance, TimeSpan.FromSeconds(4));
}
