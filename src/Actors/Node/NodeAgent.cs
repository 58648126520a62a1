using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using ActorLab.Actors.Config;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.DataPlane;
using ActorLab.Actors.Jobs;
using ActorLab.Actors.Training;

namespace ActorLab.Actors.Node;

/// <summary>How many CUDA devices TorchSharp sees (0 on CPU builds or machines without a GPU).</summary>
public static class DeviceProbe
{
    public static int CudaDevices()
    {
        try { return TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0; }
        catch { return 0; }
    }
}

/// <summary>
/// One per trainer-role member: owns a <see cref="TrainerActor"/> per slot, registers the slots with the coordinator
/// through the singleton proxy (on joining, whenever a coordinator starts, and until it is acknowledged), and places
/// leases on the slots they name: a run's ranks on trainers (ranks of one data-parallel run share a
/// <see cref="RunGroup"/>), a job on a <see cref="JobWorker"/>. Every report about a lease goes out through an outbox
/// and is sent again until the coordinator acknowledges it, so a failover loses none. A cross-node run's ranks here
/// share a group whose reduction continues over the node's data plane (<see cref="RingReduce"/>).
/// </summary>
public sealed class NodeAgent : ReceiveActor, IWithTimers
{
    public const string Name = "node";

    sealed class Resend
    {
        public static readonly Resend Instance = new();
    }

    sealed class Refresh
    {
        public static readonly Refresh Instance = new();
    }

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly string _nodeId;
    readonly NodeSettings _settings;
    readonly IActorRef _coordinator;
    readonly ITrainingBackend _backend;
    readonly NodeDataPlane? _dataPlane;
    readonly IActorRef[] _trainers;
    /// <summary>Which lease (run or job id, epoch) each slot works on; runs also keep their group.</summary>
    readonly (string Id, long Epoch, RunGroup? Group)?[] _busy;
    readonly Dictionary<(string Id, long Epoch), IActorRef> _jobs = new();
    /// <summary>Starts whose slots are still finishing a previous lease (its report can reach the coordinator first).</summary>
    readonly List<object> _pending = new();
    readonly SortedDictionary<long, (INodeReport Report, DateTimeOffset SentAt)> _outbox = new();
    long _seq;
    long _lastEpochSeen;
    bool _registered;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="dataPlane">Null: this node takes no rank of a cross-node run.</param>
    public static Props Props(string nodeId, NodeSettings settings, IActorRef coordinatorProxy, ITrainingBackend backend, NodeDataPlane? dataPlane = null) =>
        Akka.Actor.Props.Create(() => new NodeAgent(nodeId, settings, coordinatorProxy, backend, dataPlane));

    public NodeAgent(string nodeId, NodeSettings settings, IActorRef coordinatorProxy, ITrainingBackend backend, NodeDataPlane? dataPlane)
    {
        _nodeId = nodeId;
        _settings = settings;
        _coordinator = coordinatorProxy;
        _backend = backend;
        _dataPlane = dataPlane;
        _busy = new (string, long, RunGroup?)?[settings.Slots];
        _trainers = Enumerable.Range(0, settings.Slots)
            .Select(i => Context.ActorOf(TrainerActor.Props(i, backend, settings.DataWorkers, settings.ReadAhead), $"trainer-{i}"))
            .ToArray();

        Receive<ClusterEvent.MemberUp>(m =>
        {
            if (m.Member.UniqueAddress == Cluster.Get(Context.System).SelfUniqueAddress) Register();
        });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<SubscribeAck>(_ => { });
        Receive<CoordinatorUp>(_ =>
        {
            _registered = false;
            Register();
        });
        Receive<NodeRegistered>(r => _registered = r.NodeId == _nodeId);
        Receive<Refresh>(_ => Register());
        Receive<Resend>(_ => ResendReports());
        Receive<ReportAck>(a => _outbox.Remove(a.Seq));

        Receive<StartRun>(s =>
        {
            Accept(s.RunId, s.Epoch);
            if (!Holds(s.RunId, s.Epoch) && !_pending.OfType<StartRun>().Any(p => p.RunId == s.RunId && p.Epoch == s.Epoch)) Start(s);
        });
        Receive<StartJob>(s =>
        {
            Accept(s.JobId, s.Epoch);
            if (!Holds(s.JobId, s.Epoch) && !_pending.OfType<StartJob>().Any(p => p.JobId == s.JobId && p.Epoch == s.Epoch)) Start(s);
        });
        Receive<StopLease>(s =>
        {
            _pending.RemoveAll(p => p is StartRun r ? r.RunId == s.Id && r.Epoch == s.Epoch : p is StartJob j && j.JobId == s.Id && j.Epoch == s.Epoch);
            for (var i = 0; i < _busy.Length; i++)
                if (_busy[i] is { } b && b.Id == s.Id && b.Epoch == s.Epoch && b.Group != null)
                    _trainers[i].Tell(s);
            if (_jobs.TryGetValue((s.Id, s.Epoch), out var worker)) worker.Tell(s);
        });

        // from trainers and job workers
        Receive<INodeReport>(Send);
        Receive<RunProgress>(p => _coordinator.Tell(p));
        Receive<RunEvaluated>(e => _coordinator.Tell(e));
        Receive<TrainerActor.SlotFreed>(f => Free(f.RunId, f.Epoch));
        Receive<JobWorker.JobFreed>(f =>
        {
            _jobs.Remove((f.JobId, f.Epoch));
            Free(f.JobId, f.Epoch);
        });
    }

    protected override void PreStart()
    {
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberUp));
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(SweepCoordinator.NodesTopic, Self));
        Timers.StartPeriodicTimer("resend", Resend.Instance, TimeSpan.FromSeconds(1));
        // registration is acknowledged; until then, and now and then after, the node registers again
        Timers.StartPeriodicTimer("refresh", Refresh.Instance, TimeSpan.FromSeconds(2));
    }

    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);

    // a trainer that throws outside its task is restarted; its run's attempt is reported failed by the run's end
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: 10, withinTimeRange: TimeSpan.FromMinutes(1), localOnlyDecider: _ => Directive.Restart);

    int _refreshes;

    void Register()
    {
        // unacknowledged: every 2 s; acknowledged: every 30 s (reconciles leases after anything was lost)
        if (_registered && ++_refreshes % 15 != 0) return;
        // a lease whose final report is not acknowledged yet is still held: it ended here, and the report says how
        var leases = _busy.Where(b => b != null).Select(b => new LeaseHeld(b!.Value.Id, b.Value.Epoch))
            .Concat(_pending.Select(p => p is StartRun r ? new LeaseHeld(r.RunId, r.Epoch) : new LeaseHeld(((StartJob)p).JobId, ((StartJob)p).Epoch)))
            .Concat(_outbox.Values.Where(o => o.Report is RunCompletedReport or RunFailedReport or RunStoppedReport or JobDoneReport or JobFailedReport)
                .Select(o => new LeaseHeld(o.Report.Id, o.Report.Epoch)))
            .Distinct().ToImmutableArray();
        _coordinator.Tell(new RegisterNode(_nodeId, _settings.Slots, _settings.Device, _settings.SlotsPerDevice, leases, _lastEpochSeen, _dataPlane?.Endpoint));
    }

    void Accept(string id, long epoch)
    {
        _lastEpochSeen = Math.Max(_lastEpochSeen, epoch);
        _coordinator.Tell(new LeaseAccepted(id, epoch));
    }

    bool Holds(string id, long epoch) => _busy.Any(b => b is { } x && x.Id == id && x.Epoch == epoch) || _jobs.ContainsKey((id, epoch));

    void Send(INodeReport report)
    {
        var r = report.Seq == 0 ? report.Numbered(++_seq) : report;
        _outbox[r.Seq] = (r, DateTimeOffset.UtcNow);
        _coordinator.Tell(r);
    }

    void ResendReports()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (seq, (report, sentAt)) in _outbox.ToList())
            if (now - sentAt > TimeSpan.FromSeconds(2))
            {
                _outbox[seq] = (report, now);
                _coordinator.Tell(report);
            }
    }

    void Free(string id, long epoch)
    {
        RunGroup? group = null;
        for (var i = 0; i < _busy.Length; i++)
            if (_busy[i] is { } b && b.Id == id && b.Epoch == epoch)
            {
                group ??= b.Group;
                _busy[i] = null;
            }
        if (group != null && !_busy.Any(x => x?.Group == group)) group.Dispose();
        foreach (var p in _pending.ToList())
        {
            var slots = p is StartRun r ? r.Slots : ((StartJob)p).Slots;
            if (slots.All(s => _busy[s] == null))
            {
                _pending.Remove(p);
                if (p is StartRun run) Start(run);
                else Start((StartJob)p);
            }
        }
    }

    bool CheckSlots(string id, long epoch, ImmutableArray<int> slots, bool isRun, object start)
    {
        var bad = slots.Where(s => s < 0 || s >= _settings.Slots).Select(s => (int?)s).FirstOrDefault();
        if (slots.IsEmpty || bad != null)
        {
            var why = slots.IsEmpty ? "no slots in the lease" : $"slot {bad} does not exist on {_nodeId} ({_settings.Slots} slots)";
            _log.Warning("id={0} epoch={1} event=refused reason=\"{2}\"", id, epoch, why);
            Send(isRun ? new RunFailedReport(id, epoch, why) : new JobFailedReport(id, epoch, why));
            return false;
        }
        if (slots.Any(s => _busy[s] != null))
        {
            // the slot's previous lease is ending (it reported, it has not freed the slot yet): start when it has
            _pending.Add(start);
            return false;
        }
        return true;
    }

    void Start(StartRun run)
    {
        if (CrossNodeRefusal(run) is { } why)
        {
            _log.Warning("id={0} epoch={1} event=refused reason=\"{2}\"", run.RunId, run.Epoch, why);
            Send(new RunFailedReport(run.RunId, run.Epoch, why));
            return;
        }
        if (!CheckSlots(run.RunId, run.Epoch, run.Slots, isRun: true, run)) return;
        var group = run.Ring is not { } ring
            ? new RunGroup(run.RunId, run.Epoch, run.WorldSize)
            : new RunGroup(run.RunId, run.Epoch, run.Slots.Length, run.FirstRank, run.WorldSize,
                new RingReduce(_dataPlane!.Listener, ring.Spec(run.RunId, run.Epoch), ring.Position, _dataPlane.Settings.ConnectTimeout),
                _dataPlane.Settings.StepDeadline);
        for (var local = 0; local < run.Slots.Length; local++)
        {
            var slot = run.Slots[local];
            _busy[slot] = (run.RunId, run.Epoch, group);
            _trainers[slot].Tell(new TrainerActor.Assign(run, run.FirstRank + local, group, _settings.DeviceOf(slot)));
        }
    }

    /// <summary>Why this node cannot take its part of a cross-node run as the start describes it (null: it can, or the run is not cross-node).</summary>
    string? CrossNodeRefusal(StartRun run)
    {
        if (run.Ring is not { } ring)
            return run.Ranks is { } n && n != run.Slots.Length ? $"the start names {n} ranks but no ring for the other nodes' ones" : null;
        if (_dataPlane is null) return $"{_nodeId} has no data plane (actorlab.data-plane.enabled = off) for a cross-node run";
        if (run.Ranks is not { } ranks || ranks < 2 || ranks > 64 || run.FirstRank < 0 || run.FirstRank + run.Slots.Length > ranks)
            return $"ranks {run.FirstRank}..{run.FirstRank + run.Slots.Length - 1} of {run.Ranks} do not fit the run";
        if (ring.Members.IsDefaultOrEmpty || ring.Members.Length > ranks || ring.Position < 0 || ring.Position >= ring.Members.Length)
            return $"ring position {ring.Position} of {(ring.Members.IsDefault ? 0 : ring.Members.Length)} node(s) does not fit the run";
        if (ring.Members[ring.Position].NodeId != _nodeId) return $"ring position {ring.Position} is {ring.Members[ring.Position].NodeId}, not {_nodeId}";
        if (ring.Secret is not { Length: 32 }) return "the ring's secret is not 32 bytes";
        return null;
    }

    void Start(StartJob job)
    {
        if (!CheckSlots(job.JobId, job.Epoch, job.Slots, isRun: false, job)) return;
        foreach (var s in job.Slots) _busy[s] = (job.JobId, job.Epoch, null);
        _jobs[(job.JobId, job.Epoch)] = Context.ActorOf(JobWorker.Props(job, _backend, Math.Max(1, _busy.Count(b => b == null) + job.Slots.Length)),
            $"job-{job.Epoch}");
    }
}
