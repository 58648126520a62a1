using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;

namespace ActorLab.Actors.Gateway;

/// <summary>Timeouts and bounds of the gateway (from `actorlab.gateway`).</summary>
/// <param name="MaxInFlight">Commands forwarded to the coordinator and not yet answered, at most; beyond it a command is refused at once.</param>
public sealed record GatewaySettings(TimeSpan AskTimeout, TimeSpan SubmitTimeout, string TokensFile = "", int MaxInFlight = GatewaySettings.DefaultMaxInFlight)
{
    public const int DefaultMaxInFlight = 256;

    public static GatewaySettings From(Akka.Configuration.Config c) => new(
        c.GetTimeSpan("actorlab.gateway.ask-timeout", TimeSpan.FromSeconds(4)),
        c.GetTimeSpan("actorlab.gateway.submit-timeout", TimeSpan.FromSeconds(60)),
        c.GetString("actorlab.gateway.tokens-file", ""),
        c.GetInt("actorlab.gateway.max-in-flight", DefaultMaxInFlight));
}

/// <summary>
/// What consoles talk to: one per coordinator-role node, registered with the ClusterClient receptionist (so a
/// console reaches the cluster through any node it knows, before and after a failover). It takes only the public
/// commands, forwards them to the coordinator through the singleton proxy and pipes the answer back; when the
/// coordinator does not answer it says so (<see cref="NoCoordinator"/>), so a console can tell "no node" from "node
/// up, no coordinator". Watches are leases too: a console renews its <see cref="Watch"/>, the gateway forwards the
/// events topic to it until the lease runs out, and nothing here depends on a console's life. The commands it has
/// forwarded and not yet had answered are bounded (<see cref="GatewaySettings.MaxInFlight"/>): beyond the bound a
/// command is refused at once as busy (<see cref="Refused"/>), so a flood of consoles gets answers or refusals,
/// never an unbounded queue of asks, and the node stays responsive.
/// </summary>
public sealed class ConsoleGateway : ReceiveActor, IWithTimers
{
    public const string Name = "gateway";
    public const string Path = "/user/" + Name;

    sealed class Sweep
    {
        public static readonly Sweep Instance = new();
    }

    /// <summary>A forwarded command's answer (or its timeout), back through this actor so the in-flight count stays its own.</summary>
    sealed record Answered(IActorRef ReplyTo, object Reply);

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly IActorRef _coordinator;
    readonly GatewaySettings _settings;
    readonly Cluster _cluster = Cluster.Get(Context.System);
    readonly Dictionary<IActorRef, (IActorRef Forwarder, DateTimeOffset Until)> _watchers = new();
    readonly InFlightBound _bound;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef coordinatorProxy, GatewaySettings settings) =>
        Akka.Actor.Props.Create(() => new ConsoleGateway(coordinatorProxy, settings));

    public ConsoleGateway(IActorRef coordinatorProxy, GatewaySettings settings)
    {
        _coordinator = coordinatorProxy;
        _settings = settings;
        _bound = new InFlightBound(settings.MaxInFlight);

        _tokens = settings.TokensFile.Length == 0 ? null : OperatorTokens.LoadFile(settings.TokensFile, "actorlab.gateway.tokens-file");
        Receive<SignedRequest>(OnSigned);
        Receive<Sweep>(_ => ExpireWatchers());
        Receive<Answered>(a =>
        {
            _bound.Release();
            a.ReplyTo.Tell(a.Reply);
        });
        Receive<Terminated>(t =>
        {
            foreach (var (k, v) in _watchers.Where(kv => kv.Value.Forwarder.Equals(t.ActorRef)).ToList()) _watchers.Remove(k);
        });
        // with tokens, a console must sign; this node's own actors need not
        ReceiveAny(m =>
        {
            if (_tokens != null && FromConsole(Sender)) Refuse("this cluster requires an operator token (--token-file or $ACTORLAB_CONSOLE_TOKEN)");
            else Dispatch(m, null);
        });
    }

    readonly IReadOnlyDictionary<string, OperatorToken>? _tokens;

    void OnSigned(SignedRequest r)
    {
        if (_tokens is null) { Refuse("this gateway has no operator tokens configured (actorlab.gateway.tokens-file)"); return; }
        var (command, refusal) = OperatorTokens.Open(r, _tokens, DateTimeOffset.UtcNow);
        if (refusal != null) { Refuse(refusal); return; }
        // the coordinator checks the nonce (one ledger for every gateway) and runs the command it carries
        Dispatch(command!, r.Operator, new VerifiedRequest(r.Operator, r.Nonce, r.IssuedAtUnixMs, r.Manifest, r.Payload)); // Sender is still the console
    }

    /// <summary>
    /// A console: a remote sender, one that came through the ClusterClient receptionist (which answers through a
    /// local tunnel actor of its own, so the sender looks local), or this node's dashboard, which asks on behalf of a
    /// browser (its actors are named <see cref="DashboardPrefix"/>...): it gets the console's authorisation, not the node's.
    /// </summary>
    static bool FromConsole(IActorRef sender)
    {
        if (sender.Path.Address.HasGlobalScope) return true;
        var path = sender.Path.ToStringWithoutAddress();
        return path.StartsWith("/system/receptionist", StringComparison.Ordinal) || path.StartsWith("/user/" + DashboardPrefix, StringComparison.Ordinal);
    }

    /// <summary>The name prefix of the dashboard's actors: the gateway treats them as consoles.</summary>
    public const string DashboardPrefix = "dashboard-";

    void Refuse(string why)
    {
        _log.Warning("console={0} event=refused reason=\"{1}\"", Sender.Path.Address, why);
        Sender.Tell(new Refused($"refused by {_cluster.SelfAddress.Host}:{_cluster.SelfAddress.Port}: {why}"));
    }

    /// <param name="wire">What goes to the coordinator in place of <paramref name="m"/> (a signed command's <see cref="VerifiedRequest"/>).</param>
    void Dispatch(object m, string? op, object? wire = null)
    {
        var send = wire ?? m;
        // an ask that can take seconds (ISlowAsk) gets the submit-timeout, any other the ask-timeout
        var timeout = m is ISlowAsk ? _settings.SubmitTimeout : _settings.AskTimeout;
        switch (m)
        {
            case GetStatus: Forward(send, timeout, r => r is StatusReply s ? s with { Members = Members() } : r); break;
            case GetRuns or GetRunEvents or SubmitSweepFile: Forward(send, timeout); break;
            case PauseSweep or ResumeSweep or StopSweep or CancelSweep or SuspendRun or ResumeRun or RetryFailed or SubmitProbe:
                if (op != null) _log.Info("console={0} operator={1} command={2}", Sender.Path.Address, op, m.GetType().Name);
                Forward(send, timeout);
                break;
            case Watch w: OnWatch(w); break;
            default: Unhandled(m); break;
        }
    }


    protected override void PreStart() => Timers.StartPeriodicTimer("sweep", Sweep.Instance, TimeSpan.FromSeconds(1));

    void Forward(object message, TimeSpan timeout, Func<object, object>? map = null)
    {
        var sender = Sender;
        var self = _cluster.SelfAddress;
        if (!_bound.TryTake())
        {
            sender.Tell(new Refused($"node {self.Host}:{self.Port} is busy: {_bound.InFlight} commands waiting for the coordinator " +
                                    "(actorlab.gateway.max-in-flight); try again"));
            if (_bound.RefusalsToLog(DateTimeOffset.UtcNow) is > 0 and var n)
                _log.Warning("event=busy refused={0} in_flight={1} max_in_flight={2} refused_total={3} (logged at most every {4:0}s)",
                    n, _bound.InFlight, _bound.Max, _bound.Refused, InFlightBound.LogEvery.TotalSeconds);
            return;
        }
        // the answer comes back through this actor (Answered), which releases the count and passes it on
        _coordinator.Ask<object>(message, timeout).PipeTo(Self,
            success: r => new Answered(sender, map?.Invoke(r) ?? r),
            failure: _ => new Answered(sender, new NoCoordinator(
                $"node {self.Host}:{self.Port} is up, but no coordinator answered within {timeout.TotalSeconds:0}s " +
                $"(it is starting or failing over; members: {string.Join(", ", Members().Select(m => $"{m.Address} {m.State}{(m.Reachable ? "" : " unreachable")}"))})")));
    }

    ImmutableArray<MemberSummary> Members()
    {
        var state = _cluster.State;
        return [.. state.Members.Select(m => new MemberSummary($"{m.Address.Host}:{m.Address.Port}", m.Status.ToString().ToLowerInvariant(),
            string.Join(",", m.Roles.Order()), !state.Unreachable.Contains(m)))];
    }

    void OnWatch(Watch w)
    {
        var until = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(Math.Clamp(w.Seconds, 1, 300));
        if (_watchers.TryGetValue(Sender, out var existing)) _watchers[Sender] = existing with { Until = until };
        else
        {
            var forwarder = Context.ActorOf(Akka.Actor.Props.Create(() => new WatchForwarder(Sender)));
            Context.Watch(forwarder);
            _watchers[Sender] = (forwarder, until);
        }
        Sender.Tell(new WatchAck($"{_cluster.SelfAddress.Host}:{_cluster.SelfAddress.Port}"));
    }

    void ExpireWatchers()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (k, v) in _watchers.Where(kv => kv.Value.Until < now).ToList())
        {
            _watchers.Remove(k);
            Context.Stop(v.Forwarder);
        }
    }

    /// <summary>Subscribes to the events topic and passes every notice to one console.</summary>
    sealed class WatchForwarder : ReceiveActor
    {
        public WatchForwarder(IActorRef console)
        {
            DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(SweepCoordinator.EventsTopic, Self));
            Receive<SubscribeAck>(_ => { });
            Receive<WatchNotice>(n => console.Tell(n));
        }
    }
}
