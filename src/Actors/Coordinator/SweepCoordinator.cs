using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Actors.Gateway;
using ActorLab.Actors.Node;
using ActorLab.Actors.Serialization;
using ActorLab.Actors.Sweeps;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Coordinator;

/// <summary>
/// The cluster's one coordinator (a ClusterSingleton on the `coordinator` role), persistent and event-sourced: a
/// thin shell around <see cref="SweepState"/>. It is a job scheduler with no children: commands become events
/// through <see cref="SweepState.Decide"/>, events are persisted and folded in, and then acted on by telling
/// nodes (through the refs they registered from) to start or stop leases. Node liveness is cluster membership: an
/// unreachable node gets no new leases, a removed one loses its leases at once (requeued under a new epoch). After
/// a restart or failover the journal rebuilds the state, every node registers again with the leases it holds, and
/// leases nobody holds any more are requeued. Reports from nodes are acknowledged after they are persisted (the
/// nodes resend until then); events are published on the events topic for consoles.
/// </summary>
public sealed class SweepCoordinator : ReceivePersistentActor, IWithTimers
{
    public const string JournalId = "actorlab-coordinator";
    public const string EventsTopic = "actorlab-events", NodesTopic = "actorlab-nodes";

    sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    sealed record Planned(SweepPlan? Plan, string? Error, IActorRef ReplyTo);

    sealed record NodeEntry(string NodeId, Address Address, IActorRef Agent, int Slots, string Device, int SlotsPerDevice, DataPlaneEndpoint? DataPlane);

    sealed record MemberEntry(UniqueAddress Address, MemberStatus Status, ImmutableHashSet<string> Roles, bool Reachable, DateTimeOffset Since);

    sealed record Outgoing(object Message, string NodeId, DateTimeOffset SentAt);

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly CoordinatorSettings _settings;
    readonly StorageSettings _storage;
    readonly Cluster _cluster = Cluster.Get(Context.System);
    readonly IActorRef _mediator = DistributedPubSub.Get(Context.System).Mediator;
    readonly Dictionary<string, NodeEntry> _nodes = new();
    readonly Dictionary<string, MemberEntry> _members = new();
    /// <summary>Start and stop messages not yet acknowledged, by (lease id, epoch (negated for a stop), node).</summary>
    readonly Dictionary<(string Id, long Epoch, string NodeId), Outgoing> _outgoing = new();
    /// <summary>
    /// The ring secret of each cross-node lease, made when its start is first sent (never journalled: a coordinator
    /// that takes over makes a new one for starts it sends again; ranks that hold different secrets refuse each
    /// other, and the run is retried under a new epoch).
    /// </summary>
    readonly Dictionary<(string Id, long Epoch), byte[]> _ringSecrets = new();
    readonly Dictionary<string, RunProgress> _progress = new();
    SweepState _state = SweepState.Empty;
    DateTimeOffset _startedAt;
    bool _membersKnown;
    int _sinceSnapshot;
    // each write in flight, in the journal's order (a handler may start more than one), and who waits for it
    readonly Queue<PendingWrite> _awaitingWrites = new();

    sealed class PendingWrite(int events, Action<CommandReply>? reply)
    {
        public int Left = events;
        public Action<CommandReply>? Reply = reply;
    }
    long _noticeSeq;

    // which runs' rows changed when (an event about them, or progress): `GetRuns.ChangedAfter` answers a dashboard's
    // refresh with those alone; a new coordinator is a new incarnation, so an asker starts again from everything
    readonly Dictionary<string, long> _changedAt = new();
    readonly string _incarnation = Guid.NewGuid().ToString("N");
    long _changes;

    public ITimerScheduler Timers { get; set; } = null!;
    public override string PersistenceId => JournalId;

    public static Props Props(CoordinatorSettings settings, StorageSettings storage) =>
        Akka.Actor.Props.Create(() => new SweepCoordinator(settings, storage));

    public SweepCoordinator(CoordinatorSettings settings, StorageSettings storage)
    {
        _settings = settings;
        _storage = storage;

        Recover<SnapshotOffer>(o => _state = ((CoordinatorSnapshot)o.Snapshot).ToState());
        Recover<ISweepEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        // membership: the only liveness signal
        Command<ClusterEvent.CurrentClusterState>(OnClusterState);
        Command<ClusterEvent.IMemberEvent>(OnMemberEvent);
        Command<ClusterEvent.UnreachableMember>(u => SetReachable(u.Member, false));
        Command<ClusterEvent.ReachableMember>(r => SetReachable(r.Member, true));

        // nodes
        Member<RegisterNode>(OnRegister);
        Member<LeaseAccepted>(a =>
        {
            if (NodeOf(Sender) is { } node) _outgoing.Remove((a.Id, a.Epoch, node.NodeId));
        });
        Member<INodeReport>(OnReport);
        Member<RunProgress>(OnProgress);
        Member<RunEvaluated>(OnEvaluated);

        // consoles (through a gateway)
        Member<VerifiedRequest>(OnVerified);
        Member<SubmitSweepFile>(OnSubmitFile);
        Command<Planned>(p =>
        {
            if (p.Plan is null) p.ReplyTo.Tell(new CommandReply(false, p.Error!));
            else Execute(new SubmitSweep(p.Plan), r => p.ReplyTo.Tell(r));
        });
        Member<GetStatus>(_ => Sender.Tell(Status()));
        Member<GetRuns>(g => Sender.Tell(Runs(g)));
        Member<GetRunEvents>(OnGetRunEvents);
        Member<ISweepCommand>(c =>
        {
            var sender = Sender;
            Execute(c, r => sender.Tell(r));
        });

        Command<Tick>(_ => OnTick());
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("snapshot failed: {0}", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("deleting old snapshots failed: {0}", f.Cause.Message));
    }

    /// <summary>
    /// Commands and reports are taken only from this node's own actors or from actors on cluster members: a process
    /// that merely reached the port (not a member) changes nothing, whatever message it sends.
    /// </summary>
    void Member<T>(Action<T> handle) => Command<T>(m =>
    {
        var from = Sender.Path.Address;
        if (from.HasLocalScope || from == _cluster.SelfAddress || _members.Values.Any(x => x.Address.Address == from)) { handle(m); return; }
        _log.Warning("command={0} sender={1} event=refused reason=\"not a cluster member\"", typeof(T).Name, from);
        Sender.Tell(new CommandReply(false, "refused: the sender is not a member of this cluster"));
    });

    /// <summary>A signed console request a gateway verified: run once in the cluster (the nonce ledger), as the command it carries.</summary>
    void OnVerified(VerifiedRequest r)
    {
        _nonces ??= new NonceLedger(_startedAt);
        if (_nonces.Admit(r.Nonce, r.IssuedAtUnixMs, DateTimeOffset.UtcNow) is { } refusal)
        {
            _log.Warning("operator={0} sender={1} event=refused reason=\"{2}\"", r.Operator, Sender.Path.Address, refusal);
            Sender.Tell(new Refused(refusal));
            return;
        }
        object command;
        try { command = ActorLabSerializer.Read(r.Payload, r.Manifest, ActorLabSerializer.Standalone); }
        catch (System.Runtime.Serialization.SerializationException e) { Sender.Tell(new Refused($"the signed command cannot be read: {e.Message}")); return; }
        Self.Forward(command);
    }

    NonceLedger? _nonces;

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _log.Error(reason, "event=recovery-failed journal={0} reason=\"{1}\" (see `actorlab db check`)", JournalId, reason.Message);
        base.OnRecoveryFailure(reason, message);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "event=persist-failed seq={0} reason=\"{1}\": the coordinator restarts and recovers from the journal", sequenceNr, cause.Message);
        // the coordinator stops: no write in flight will be recorded
        var why = $"the coordinator journal refused the write ({cause.Message}); nothing of this command was recorded and the " +
                  "coordinator restarts from the journal. If it repeats, see the node log and `actorlab db check`";
        while (_awaitingWrites.TryDequeue(out var w)) w.Reply?.Invoke(new CommandReply(false, why));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "event=persist-rejected seq={0} reason=\"{1}\"", sequenceNr, cause.Message);
        // one call per event of the rejected write (all of it is rejected): the asker hears once
        if (_awaitingWrites.TryPeek(out var w))
        {
            w.Reply?.Invoke(new CommandReply(false, $"the coordinator journal rejected the event ({cause.Message}); nothing of this command was recorded"));
            w.Reply = null;
            if (--w.Left == 0) _awaitingWrites.Dequeue();
        }
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    // ------------------------------------------------------------------ recovery and membership

    void OnRecovered()
    {
        _startedAt = DateTimeOffset.UtcNow;
        _log.Info("event=recovered sweeps={0} runs={1} jobs={2} last-seq={3} address={4}", _state.Sweeps.Count, _state.Runs.Count, _state.Jobs.Count,
            LastSequenceNr, _cluster.SelfAddress);
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        // every node registers again, with the leases it holds
        _mediator.Tell(new Publish(NodesTopic, new CoordinatorUp(_cluster.SelfAddress.ToString())));
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromMilliseconds(500));
    }

    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        base.PostStop();
    }

    void OnClusterState(ClusterEvent.CurrentClusterState s)
    {
        var now = DateTimeOffset.UtcNow;
        _members.Clear();
        foreach (var m in s.Members)
            _members[NodeIds.Of(m.UniqueAddress)] = new MemberEntry(m.UniqueAddress, m.Status, m.Roles, !s.Unreachable.Contains(m), now);
        _membersKnown = true;
        ReleaseLeasesOfGoneNodes();
    }

    void OnMemberEvent(ClusterEvent.IMemberEvent e)
    {
        var id = NodeIds.Of(e.Member.UniqueAddress);
        if (e is ClusterEvent.MemberRemoved)
        {
            _members.Remove(id);
            if (_nodes.Remove(id)) _log.Warning("node={0} event=removed", id);
            ReleaseLeasesOfGoneNodes();
            return;
        }
        var reachable = !_members.TryGetValue(id, out var old) || old.Reachable;
        _members[id] = new MemberEntry(e.Member.UniqueAddress, e.Member.Status, e.Member.Roles, reachable, old?.Since ?? DateTimeOffset.UtcNow);
        Schedule();
    }

    void SetReachable(Member m, bool reachable)
    {
        var id = NodeIds.Of(m.UniqueAddress);
        if (_members.TryGetValue(id, out var e)) _members[id] = e with { Reachable = reachable };
        _log.Info("node={0} event={1}", id, reachable ? "reachable" : "unreachable");
        if (reachable) Schedule();
    }

    /// <summary>Leases of nodes that are not cluster members any more are lost: requeued under a new epoch.</summary>
    void ReleaseLeasesOfGoneNodes()
    {
        if (!_membersKnown) return;
        foreach (var (id, lease) in _state.Leases.ToList())
            if (lease.Nodes.FirstOrDefault(n => !_members.ContainsKey(n)) is { } gone)
                Execute(new LeaseLost(id, lease.Epoch, gone == lease.NodeId ? "its node left the cluster" : $"its rank node {gone} left the cluster"), null);
    }

    // ------------------------------------------------------------------ nodes

    void OnRegister(RegisterNode r)
    {
        var sender = Sender;
        if (!_members.TryGetValue(r.NodeId, out var member) || member.Address.Address != AddressOf(sender))
        {
            // not (yet) a member we know, or a sender that is not the node it names: it tries again
            _log.Warning("node={0} sender={1} event=registration-refused reason=\"not a known cluster member at that address\"", r.NodeId, AddressOf(sender));
            return;
        }
        if (!member.Roles.Contains(Roles.Trainer))
        {
            _log.Warning("node={0} event=registration-refused reason=\"no trainer role\"", r.NodeId);
            return;
        }
        var isNew = !_nodes.ContainsKey(r.NodeId);
        _nodes[r.NodeId] = new NodeEntry(r.NodeId, AddressOf(sender), sender, r.Slots, r.Device, r.SlotsPerDevice, CheckedDataPlane(r));
        if (isNew) _log.Info("node={0} event=registered slots={1} device={2}", r.NodeId, r.Slots, r.Device);
        sender.Tell(new NodeRegistered(r.NodeId));

        var held = r.Leases.ToHashSet();
        foreach (var (id, lease) in _state.Leases.Where(l => l.Lease.Spans(r.NodeId)).ToList())
        {
            if (held.Contains(new LeaseHeld(id, lease.Epoch))) _outgoing.Remove((id, lease.Epoch, r.NodeId));
            else if (lease.Epoch <= r.LastEpochSeen)
                Execute(new LeaseLost(id, lease.Epoch, r.NodeId == lease.NodeId ? "its node no longer holds it" : $"its rank node {r.NodeId} no longer holds it"), null);
            else SendLease(id, r.NodeId);
        }
        foreach (var l in r.Leases)
        {
            var current = _state.Leases.Any(x => x.Id == l.Id && x.Lease.Epoch == l.Epoch && x.Lease.Spans(r.NodeId));
            if (current) continue;
            // fencing: a node still working on a lease that moved on (or ended) stops wasting its slots
            _log.Warning("node={0} id={1} epoch={2} event=stale-lease action=cancel", r.NodeId, l.Id, l.Epoch);
            sender.Tell(new StopLease(l.Id, l.Epoch, StopKind.Cancel));
        }
        Schedule();
    }

    NodeEntry? NodeOf(IActorRef sender)
    {
        var address = AddressOf(sender);
        return _nodes.Values.FirstOrDefault(n => n.Address == address);
    }

    /// <summary>The cluster address an actor lives at (a local ref's is this node's).</summary>
    Address AddressOf(IActorRef r) => r.Path.Address.HasGlobalScope ? r.Path.Address : _cluster.SelfAddress;

    void OnReport(INodeReport report)
    {
        var sender = Sender;
        var node = NodeOf(sender);
        if (node is null)
        {
            _log.Warning("sender={0} report={1} event=ignored reason=\"not a registered node\"", AddressOf(sender), report.GetType().Name);
            return;
        }
        var now = DateTimeOffset.UtcNow;
        ISweepCommand command = report switch
        {
            RunStartedReport x => new ReportRunStarted(x.RunId, x.Epoch, node.NodeId, x.Step),
            CheckpointReport x => new ReportCheckpoint(x.RunId, x.Epoch, node.NodeId, x.Step, x.Sha256, x.TrainLoss),
            RunCompletedReport x => new ReportRunCompleted(x.RunId, x.Epoch, node.NodeId, x.Step, x.Reason, x.ResultsSha256),
            RunFailedReport x => new ReportRunFailed(x.RunId, x.Epoch, node.NodeId, x.Error, now, OtherHealthyNodes(node.NodeId, now)),
            RunStoppedReport x => new ReportRunStopped(x.RunId, x.Epoch, node.NodeId, x.Step, x.Kind),
            JobDoneReport x => new ReportJobDone(x.JobId, x.Epoch, node.NodeId, x.Error, x.Dataset),
            JobFailedReport x => new ReportJobFailed(x.JobId, x.Epoch, node.NodeId, x.Error, now, OtherHealthyNodes(node.NodeId, now)),
            _ => throw new ArgumentOutOfRangeException(nameof(report), report.GetType().Name),
        };
        _outgoing.Remove((report.Id, report.Epoch, node.NodeId));
        Execute(command, reply =>
        {
            sender.Tell(new ReportAck(report.Seq));
            // a report from a lease that moved on: that holder stops
            if (!reply.Ok && reply.Message.StartsWith("stale lease", StringComparison.Ordinal) && report is not RunFailedReport and not JobFailedReport)
                sender.Tell(new StopLease(report.Id, report.Epoch, StopKind.Cancel));
        });
    }

    int OtherHealthyNodes(string nodeId, DateTimeOffset now) =>
        _nodes.Keys.Count(id => id != nodeId && _members.TryGetValue(id, out var m) && m.Reachable && m.Status == MemberStatus.Up && !_state.HealthOf(id).QuarantinedAt(now));

    void OnProgress(RunProgress p)
    {
        if (!IsCurrent(p.RunId, p.Epoch)) return;
        _progress[p.RunId] = p;
        _changedAt[p.RunId] = ++_changes;
        Publish("progress", p.RunId, p.Step, p.Loss,
            string.Create(CultureInfo.InvariantCulture, $"step {p.Step} loss {p.Loss:F4} nats/token ({p.StepsPerSecond:F1} steps/s)"));
    }

    void OnEvaluated(RunEvaluated r)
    {
        if (!IsCurrent(r.RunId, r.Epoch)) return;
        var text = string.Join(" ", r.Losses.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value:F3}")));
        Publish("eval", r.RunId, r.Step, r.Losses.GetValueOrDefault("train_onehop", double.NaN), $"eval step {r.Step} (nats/question): {text}");
    }

    bool IsCurrent(string runId, long epoch) =>
        _state.Runs.TryGetValue(runId, out var run) && run.HoldsLease && run.Lease!.Epoch == epoch;

    void OnTick()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (key, o) in _outgoing.ToList())
        {
            if (now - o.SentAt < _settings.ResendInterval) continue;
            if (_nodes.TryGetValue(o.NodeId, out var node))
            {
                node.Agent.Tell(o.Message);
                _outgoing[key] = o with { SentAt = now };
            }
        }
        // a member that holds leases but never registers (its agent is gone) loses them
        foreach (var (id, lease) in _state.Leases.ToList())
        foreach (var n in lease.Nodes)
        {
            if (_nodes.ContainsKey(n) || !_members.TryGetValue(n, out var m)) continue;
            var since = m.Since > _startedAt ? m.Since : _startedAt;
            if (now - since <= _settings.RegistrationTimeout) continue;
            Execute(new LeaseLost(id, lease.Epoch, $"its node {(n == lease.NodeId ? "" : n + " ")}did not register within {_settings.RegistrationTimeout.TotalSeconds:0}s"), null);
            break;
        }
        Schedule();
    }

    void Schedule()
    {
        var slots = _nodes.Values
            .Where(n => _members.TryGetValue(n.NodeId, out var m) && m.Reachable && m.Status == MemberStatus.Up)
            .SelectMany(n => Enumerable.Range(0, n.Slots).Select(i => new SlotRef(n.NodeId, i))).ToImmutableArray();
        if (slots.IsEmpty) return;
        var dataPlanes = _nodes.Values.Where(n => n.DataPlane != null).Select(n => n.NodeId).ToImmutableHashSet();
        var command = new ScheduleLeases(slots, DateTimeOffset.UtcNow, dataPlanes);
        var decision = _state.Decide(command, _settings.Policy);
        if (!decision.Rejected && !decision.Events.IsEmpty) Persist(decision, null);
    }

    // ------------------------------------------------------------------ commands

    void Execute(ISweepCommand command, Action<CommandReply>? reply)
    {
        var decision = _state.Decide(command, _settings.Policy);
        if (decision.Rejected)
        {
            _log.Warning("command={0} event=rejected reason=\"{1}\"", command.GetType().Name, decision.Rejection);
            reply?.Invoke(new CommandReply(false, decision.Rejection!));
            return;
        }
        if (decision.Events.IsEmpty)
        {
            reply?.Invoke(new CommandReply(true, CommandReplies.NothingToChange));
            return;
        }
        Persist(decision, reply);
    }

    void Persist(Decision decision, Action<CommandReply>? reply)
    {
        // the asker hears at once if the write fails, instead of waiting out its ask for a reply that never comes
        var write = new PendingWrite(decision.Events.Length, reply);
        _awaitingWrites.Enqueue(write);
        PersistAll(decision.Events.Select(RunEventTags.Tag), persisted =>
        {
            var e = RunEventTags.Payload(persisted);
            _state = _state.Apply(e);
            AfterEvent(e);
            if (--write.Left > 0) return;
            _awaitingWrites.Dequeue();
            reply?.Invoke(new CommandReply(true, CommandReplies.Sentence(decision.Events)));
            MaybeSnapshot(decision.Events.Length);
            Schedule();
        });
    }

    void MaybeSnapshot(int events)
    {
        _sinceSnapshot += events;
        // a snapshot costs as much as the state is large: at least one event per run between two keeps the
        // writing per event bounded on a 100,000-run sweep (and recovery replays at most that many events)
        if (_sinceSnapshot < Math.Max(_settings.SnapshotEvery, _state.Runs.Count)) return;
        _sinceSnapshot = 0;
        SaveSnapshot(CoordinatorSnapshot.From(_state));
    }

    void OnSubmitFile(SubmitSweepFile f)
    {
        var sender = Sender;
        // planning can be long (the N solver, big grids): off the actor's thread, piped back
        Task.Run(() =>
        {
            try { return new Planned(SweepPlanner.Plan(SweepFile.Parse(f.Text, f.Source)), null, sender); }
            catch (UserInputException e) { return new Planned(null, e.Message, sender); }
        }).PipeTo(Self);
    }

    // ------------------------------------------------------------------ effects of events

    void AfterEvent(ISweepEvent e)
    {
        var described = Describe(e);
        LogEvent(e, described);
        MarkChanged(e, described.Id);
        switch (e)
        {
            case RunLeased l:
                SendLease(l.RunId);
                break;
            case JobLeased l:
                SendLease(l.JobId);
                break;
            case RunStopRequested s:
                SendStop(s.RunId, s.Epoch, s.Kind);
                break;
            case RunCompleted or RunFailed or RunCancelled or RunSuspended or RunRequeued or RunAttemptFailed:
                var runId = Describe(e).Id!;
                _progress.Remove(runId);
                foreach (var k in _outgoing.Keys.Where(k => k.Id == runId).ToList()) _outgoing.Remove(k);
                foreach (var k in _ringSecrets.Keys.Where(k => k.Id == runId).ToList()) _ringSecrets.Remove(k);
                break;
            case JobDone or JobFailed or JobAttemptFailed or JobRequeued:
                var jobId = Describe(e).Id!;
                foreach (var k in _outgoing.Keys.Where(k => k.Id == jobId).ToList()) _outgoing.Remove(k);
                break;
        }
    }

    /// <summary>Sends the start message of a held lease to each of its nodes (to one: <paramref name="only"/>), again until each accepts it.</summary>
    void SendLease(string id, string? only = null)
    {
        if (_state.Runs.TryGetValue(id, out var run) && run.HoldsLease)
        {
            var lease = run.Lease!;
            var dataset = _state.Datasets[run.Config.Dataset!.Id].Fingerprint!;
            var start = new StartRun(id, lease.Epoch, lease.Slots, run.Config, run.Checkpoint, dataset);
            if (lease.Others.IsEmpty)
            {
                Send(id, lease.Epoch, lease.NodeId, start);
                return;
            }
            // a cross-node run: each node gets its own slots, where its ranks start, and the ring of node leaders
            var ranks = lease.Ranks.ToList();
            var nodes = lease.Nodes.ToList();
            var missing = nodes.FirstOrDefault(n => _nodes.GetValueOrDefault(n)?.DataPlane is null);
            if (missing != null)
            {
                // its node restarted without a data plane (or is not registered yet): the registration resends it
                if (_nodes.ContainsKey(missing)) Execute(new LeaseLost(id, lease.Epoch, $"its rank node {missing} has no data plane"), null);
                return;
            }
            if (!_ringSecrets.TryGetValue((id, lease.Epoch), out var secret)) _ringSecrets[(id, lease.Epoch)] = secret = DataPlane.RingSpec.NewSecret();
            var members = nodes.Select(n => new DataPlane.RingMember(n, _nodes[n].DataPlane!.Host, _nodes[n].DataPlane!.Port)).ToImmutableArray();
            for (var position = 0; position < nodes.Count; position++)
            {
                var n = nodes[position];
                if (only != null && n != only) continue;
                Send(id, lease.Epoch, n, start with
                {
                    Slots = [.. ranks.Where(r => r.NodeId == n).Select(r => r.Slot)],
                    FirstRank = ranks.FindIndex(r => r.NodeId == n), Ranks = ranks.Count,
                    Ring = new CrossNodeRing(members, position, secret),
                });
            }
        }
        else if (_state.Jobs.TryGetValue(id, out var job) && job.HoldsLease)
            Send(id, job.Lease!.Epoch, job.Lease.NodeId, new StartJob(id, job.Lease.Epoch, job.Lease.Slots, job.Kind, JobSpecOf(job)));
    }

    void Send(string id, long epoch, string nodeId, object message)
    {
        _outgoing[(id, epoch, nodeId)] = new Outgoing(message, nodeId, DateTimeOffset.UtcNow);
        if (_nodes.TryGetValue(nodeId, out var node)) node.Agent.Tell(message);
    }

    void SendStop(string id, long epoch, StopKind kind)
    {
        var lease = _state.Leases.FirstOrDefault(l => l.Id == id).Lease;
        if (lease is null) return;
        // every node of the lease: any rank's request is agreed by all at the next step's reduction
        foreach (var n in lease.Nodes) Send(id, -epoch, n, new StopLease(id, epoch, kind));
    }

    /// <summary>The data plane a node registers, if it names a usable endpoint (a bad one is logged and ignored).</summary>
    DataPlaneEndpoint? CheckedDataPlane(RegisterNode r)
    {
        if (r.DataPlane is not { } d) return null;
        if (string.IsNullOrWhiteSpace(d.Host) || d.Host.Length > 255 || d.Port is < 1 or > 65535)
        {
            _log.Warning("node={0} event=data-plane-refused reason=\"endpoint '{1}:{2}' is not a host and port\"", r.NodeId, d.Host, d.Port);
            return null;
        }
        return d;
    }

    JobSpec JobSpecOf(JobInfo job) => job.Kind switch
    {
        JobKind.PrepareDataset => new JobSpec { Dataset = _state.Datasets[job.Target].Config, Expected = _state.Datasets[job.Target].Fingerprint },
        JobKind.Measure => _state.MeasureSpec(job.Target),
        JobKind.Probe => ProbeSpec(job),
        _ => throw new ArgumentOutOfRangeException(nameof(job), job.Kind.ToString()),
    };

    JobSpec ProbeSpec(JobInfo job)
    {
        var run = _state.Runs[job.Target];
        var ds = _state.Datasets[run.Config.Dataset!.Id];
        return new JobSpec { RunId = run.RunId, Config = run.Config, Checkpoint = run.Checkpoint, Probe = job.Probe, Dataset = ds.Config, Expected = ds.Fingerprint };
    }

    // ------------------------------------------------------------------ logs, notices, queries

    void LogEvent(ISweepEvent e, (string? Id, long? Step, string Text) described)
    {
        var (id, step, text) = described;
        var fields = string.Join(" ", new[] { id != null ? $"id={id}" : null, step != null ? $"step={step}" : null, $"event={EventName(e)}", text }
            .Where(f => !string.IsNullOrEmpty(f)));
        _log.Info(fields);
        Publish(EventName(e), id, step, (e as CheckpointRecorded)?.TrainLoss, text);
    }

    void Publish(string kind, string? id, long? step, double? loss, string text) =>
        _mediator.Tell(new Publish(EventsTopic, new WatchNotice(_cluster.SelfAddress.ToString(), ++_noticeSeq, DateTimeOffset.UtcNow, kind, id, step, loss, text)));

    public static string EventName(ISweepEvent e)
    {
        var n = e.GetType().Name;
        return string.Concat(n.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
    }

    /// <summary>The run or job an event is about (if any), its step, and its fields as one log line's text.</summary>
    public static (string? Id, long? Step, string Text) Describe(ISweepEvent e) => e switch
    {
        SweepSubmitted x => (null, null, $"sweep={x.Sweep} runs={x.Runs.Length} datasets={x.Datasets.Length} hash={x.ContentHash}"),
        SweepRunsAdded x => (null, null, $"sweep={x.Sweep} runs={x.Runs.Length}"),
        DatasetPrepared x => (null, null, $"dataset={x.DatasetId}"),
        JobQueued x => (x.JobId, null, $"kind={x.Kind} target={x.Target}"),
        JobLeased x => (x.JobId, null, $"epoch={x.Epoch} node={x.NodeId} slots={string.Join('+', x.Slots)}"),
        JobDone x => (x.JobId, null, $"epoch={x.Epoch}{(x.Error != null ? $" error=\"{x.Error}\"" : "")}"),
        JobAttemptFailed x => (x.JobId, null, $"epoch={x.Epoch} node={x.NodeId} retry-at={x.RetryAt:O} error=\"{x.Error}\""),
        JobFailed x => (x.JobId, null, $"error=\"{x.Error}\""),
        JobRequeued x => (x.JobId, null, $"reason=\"{x.Reason}\""),
        RunLeased x => (x.RunId, null, $"epoch={x.Epoch} node={x.NodeId} slots={string.Join('+', x.Slots)}"),
        RunStarted x => (x.RunId, x.Step, $"epoch={x.Epoch}"),
        CheckpointRecorded x => (x.RunId, x.Step, string.Create(CultureInfo.InvariantCulture, $"epoch={x.Epoch} loss={x.TrainLoss:F4}")),
        RunCompleted x => (x.RunId, x.Step, $"epoch={x.Epoch} reason=\"{x.Reason}\""),
        RunAttemptFailed x => (x.RunId, null, $"epoch={x.Epoch} node={x.NodeId} retry-at={x.RetryAt:O} error=\"{x.Error}\""),
        RunFailed x => (x.RunId, null, $"error=\"{x.Error}\""),
        RunStopRequested x => (x.RunId, null, $"epoch={x.Epoch} kind={x.Kind}"),
        RunSuspended x => (x.RunId, x.Step, $"epoch={x.Epoch}"),
        RunRequeued x => (x.RunId, null, $"reason=\"{x.Reason}\""),
        RunCancelled x => (x.RunId, null, ""),
        RunRetried x => (x.RunId, null, ""),
        JobRetried x => (x.JobId, null, ""),
        SweepPaused x => (null, null, $"sweep={x.Sweep}"),
        SweepResumed x => (null, null, $"sweep={x.Sweep}"),
        SweepStopped x => (null, null, $"sweep={x.Sweep}"),
        SweepCancelled x => (null, null, $"sweep={x.Sweep}"),
        NodeQuarantined x => (null, null, $"node={x.NodeId} until={x.Until:O} reason=\"{x.Reason}\""),
        _ => (null, null, e.GetType().Name),
    };

    ImmutableArray<SweepSummary> Summaries() => _state.SweepsInOrder.Select(s =>
    {
        var counts = _state.RunsOf(s.Name).GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());
        int Count(params RunStatus[] st) => st.Sum(x => counts.GetValueOrDefault(x));
        var measure = _state.MeasureJob(s.Name);
        var status = measure?.Status == JobStatus.Done ? "finished"
            : measure?.Status == JobStatus.Failed ? "failed"
            : s.AllRunsEnded ? "measuring"
            : s.Cancelled ? "cancelled" : s.Stopped ? "stopping" : s.Paused ? "paused" : "running";
        var error = measure is { Status: JobStatus.Done or JobStatus.Failed } ? measure.Error : null;
        return new SweepSummary(s.Name, status, s.RunIds.Length, Count(RunStatus.Queued), Count(RunStatus.Leased, RunStatus.Running),
            Count(RunStatus.Suspended), Count(RunStatus.Completed), Count(RunStatus.Failed), Count(RunStatus.Cancelled),
            measure?.Status == JobStatus.Done ? _storage.Storage.SweepDir(s.Name) : null, error);
    }).ToImmutableArray();

    // the sweeps' summaries, counted once per state: the state is immutable, so the same state has the same counts
    // (a dashboard asks every 2 s, and counting a 100,000-run sweep's runs is the costly part)
    (SweepState State, ImmutableArray<SweepSummary> Sweeps)? _summaries;

    StatusReply Status()
    {
        var now = DateTimeOffset.UtcNow;
        if (_summaries is not { } known || !ReferenceEquals(known.State, _state)) _summaries = known = (_state, Summaries());
        var sweeps = known.Sweeps;
        var busy = _state.LeasedSlots.GroupBy(s => s.NodeId).ToDictionary(g => g.Key, g => g.Count());
        var nodes = _members.Select(kv =>
        {
            var (id, m) = (kv.Key, kv.Value);
            var health = _state.HealthOf(id);
            var registered = _nodes.GetValueOrDefault(id);
            var state = !m.Reachable ? "unreachable" : health.QuarantinedAt(now) ? "quarantined" : m.Status.ToString().ToLowerInvariant();
            var note = health.QuarantinedAt(now) ? $"quarantined until {health.QuarantinedUntil:HH:mm:ss}" : registered is null && m.Roles.Contains(Roles.Trainer) ? "not registered" : null;
            return new NodeSummary(id, string.Join(",", m.Roles.Order()), registered?.Device ?? "", registered?.Slots ?? 0, busy.GetValueOrDefault(id), state, note);
        }).OrderBy(n => n.NodeId, StringComparer.Ordinal).ToImmutableArray();
        var jobs = _state.Jobs.Values;
        return new StatusReply(sweeps, nodes, [], _cluster.SelfAddress.ToString(), _storage.Root,
            jobs.Count(j => j.Status == JobStatus.Queued), jobs.Count(j => j.Status == JobStatus.Leased));
    }

    void OnGetRunEvents(GetRunEvents g)
    {
        var sender = Sender;
        if (!_state.Runs.ContainsKey(g.RunId) && !_state.Jobs.ContainsKey(g.RunId))
        {
            sender.Tell(new RunEventsReply(g.RunId, false, [], 0));
            return;
        }
        // a read of the journal's tag table, off the actor's thread, piped back to the asker
        RunHistory.Read(Context.System, g.RunId, g.Limit).PipeTo(sender,
            failure: e => new Refused($"the journal could not be read for the events of '{g.RunId}': {e.GetBaseException().Message}"));
    }

    /// <param name="subject">The run or job the event is about (<see cref="Describe"/>), if any.</param>
    void MarkChanged(ISweepEvent e, string? subject)
    {
        // a sweep's new runs are new rows; any other event names the run (or job) it changes
        var ids = e switch
        {
            SweepSubmitted x => _state.Sweeps[x.Sweep].RunIds.AsEnumerable(),
            SweepRunsAdded x => _state.Sweeps[x.Sweep].RunIds,
            _ => subject is { } id && _state.Runs.ContainsKey(id) ? [id] : [],
        };
        foreach (var id in ids) _changedAt[id] = ++_changes;
    }

    RunsReply Runs(GetRuns g)
    {
        var limit = Math.Clamp(g.Limit, 1, 1000);
        // run ids only until the page: a page looks up its own runs, not every run of every sweep, so a `runs` ask
        // stays cheap under a flood of consoles at 100,000 runs (the answer is the same)
        IReadOnlyList<SweepInfo> sweeps = g.Sweep is null ? [.. _state.SweepsInOrder]
            : _state.Sweeps.TryGetValue(g.Sweep, out var one) ? [one] : [];
        var all = sweeps.SelectMany(s => s.RunIds);
        // the changed ones found once, counted and paged from the same list
        List<string>? changed = g.ChangedAfter is { } after ? [.. all.Where(id => _changedAt.TryGetValue(id, out var at) && at > after)] : null;
        var total = changed?.Count ?? sweeps.Sum(s => s.RunIds.Length);
        var page = (changed ?? all).Skip(Math.Max(0, g.Offset)).Take(limit)
            .Select(id => _state.Runs[id])
            .Select(r =>
            {
                // live progress is newer than the journal only while it is ahead of what the journal recorded
                var live = _progress.TryGetValue(r.RunId, out var p) && p.Step >= r.Step ? p : null;
                return new RunSummary(r.RunId, r.Status.ToString().ToLowerInvariant(), live?.Step ?? r.Step, r.Checkpoint?.Step ?? 0,
                    live != null ? live.Loss : r.TrainLoss, r.Lease is { } l ? string.Join("+", l.Nodes) : null, r.Lease?.Epoch, r.FailedAttempts, r.Error);
            })
            .ToImmutableArray();
        return new RunsReply(page, total, Math.Max(0, g.Offset), _changes, _incarnation);
    }
}

/// <summary>How nodes are named: host:port#uid of their cluster member (a restarted node is a new node).</summary>
public static class NodeIds
{
    public static string Of(UniqueAddress a) => $"{a.Address.Host}:{a.Address.Port}#{a.Uid}";
}
