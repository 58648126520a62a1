using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using ActorLab.Actors.Control;
using ActorLab.Actors.Data;
using ActorLab.Actors.Evaluation;
using ActorLab.Actors.Node;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Coordinator;

/// <summary>Coordinator settings (from `actorlab.coordinator` and the data dir).</summary>
public sealed record CoordinatorSettings(string DataDir, int SnapshotEvery, TimeSpan LeaseTimeout, RetryPolicy Retry, bool SingleProcess)
{
    public static CoordinatorSettings From(Akka.Configuration.Config c, bool singleProcess) => new(
        c.GetString("actorlab.data-dir"),
        c.GetInt("actorlab.coordinator.snapshot-every", 200),
        c.GetTimeSpan("actorlab.coordinator.lease-timeout", TimeSpan.FromSeconds(6)),
        new RetryPolicy(c.GetInt("actorlab.coordinator.max-run-attempts", 3),
            c.GetTimeSpan("actorlab.coordinator.retry-backoff-min", TimeSpan.FromSeconds(1)),
            c.GetTimeSpan("actorlab.coordinator.retry-backoff-max", TimeSpan.FromSeconds(30))),
        singleProcess);

    public string RunDir(RunSpec run) => Path.Combine(DataDir, "runs", run.RunId);
    public string SweepDir(string sweep) => Path.Combine(DataDir, "sweeps", sweep);
}

/// <summary>
/// The persistent, event-sourced owner of all sweeps: a thin shell around <see cref="SweepState"/>. Commands
/// become events through <see cref="SweepState.Decide"/>; events are persisted (SQLite journal by default),
/// folded in with <see cref="SweepState.Apply"/>, and then acted on (start a lease on a node, prepare a
/// dataset, measure capacity). After a restart the journal (from the latest snapshot) rebuilds the state;
/// leases nobody confirms within the lease timeout are requeued, and in single-process mode all recovered
/// leases are requeued at once (the process that held them is gone).
/// </summary>
public sealed class SweepCoordinator : ReceivePersistentActor, IWithTimers
{
    public const string Id = "actorlab-coordinator";

    sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    sealed record NodeEntry(string NodeId, IActorRef Agent, int Slots, string Device, DateTimeOffset LastSeen);

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly CoordinatorSettings _settings;
    readonly ITrainingBackend _backend;
    readonly IActorRef _datasets;
    readonly IActorRef _evaluator;
    readonly Dictionary<string, NodeEntry> _nodes = new();
    /// <summary>When each held lease (run, epoch) was last confirmed by its node, or granted.</summary>
    readonly Dictionary<(string RunId, long Epoch), DateTimeOffset> _leaseSeen = new();
    readonly HashSet<IActorRef> _watchers = new();
    readonly HashSet<string> _preparing = new();
    readonly HashSet<string> _measuring = new();
    SweepState _state = SweepState.Empty;
    int _sinceSnapshot;

    public ITimerScheduler Timers { get; set; } = null!;
    public override string PersistenceId => Id;

    /// <summary>The state as last applied (for tests and the benchmark).</summary>
    public SweepState State => _state;

    public static Props Props(CoordinatorSettings settings, ITrainingBackend backend) =>
        Akka.Actor.Props.Create(() => new SweepCoordinator(settings, backend));

    public SweepCoordinator(CoordinatorSettings settings, ITrainingBackend backend)
    {
        _settings = settings;
        _backend = backend;
        _datasets = Context.ActorOf(DatasetPreparer.Props(backend, settings.DataDir), "datasets");
        _evaluator = Context.ActorOf(EvaluatorActor.Props(backend), "evaluator");

        Recover<SnapshotOffer>(o => _state = ((CoordinatorSnapshot)o.Snapshot).ToState());
        Recover<ISweepEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<RegisterNode>(OnRegister);
        Command<SubmitSweepFile>(OnSubmitFile);
        Command<ISweepCommand>(c => Execute(c, Sender));
        Command<RunProgress>(OnProgress);
        Command<EvalReport>(OnEval);
        Command<GetStatus>(_ => Sender.Tell(Status()));
        Command<GetRuns>(g => Sender.Tell(Runs(g.Sweep)));
        Command<Watch>(w =>
        {
            _watchers.Add(w.Subscriber);
            Context.Watch(w.Subscriber);
            w.Subscriber.Tell(Notice("watching", null, null, null, $"watching {_state.Sweeps.Count} sweep(s), {_state.Runs.Count} run(s)"));
        });
        Command<Unwatch>(w => _watchers.Remove(w.Subscriber));
        Command<Terminated>(t => _watchers.Remove(t.ActorRef));
        Command<Tick>(_ => OnTick());
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("snapshot failed: {0}", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("deleting old snapshots failed: {0}", f.Cause.Message));
    }

    // ------------------------------------------------------------------ recovery

    void OnRecovered()
    {
        var now = DateTimeOffset.UtcNow;
        _log.Info("event=recovered sweeps={0} runs={1} last-seq={2}", _state.Sweeps.Count, _state.Runs.Count, LastSequenceNr);
        var held = _state.Runs.Values.Where(r => r.HoldsLease).ToList();
        if (_settings.SingleProcess)
        {
            // the process that held these leases is gone: requeue at once (they resume from their checkpoints)
            foreach (var r in held) Execute(new LeaseLost(r.Spec.RunId, r.Lease!.Epoch), ActorRefs.NoSender);
        }
        else
        {
            // nodes may still be training: give them a lease timeout to confirm
            foreach (var r in held) _leaseSeen[(r.Spec.RunId, r.Lease!.Epoch)] = now;
        }
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromMilliseconds(500));
        PrepareDatasets();
        MeasureFinished();
    }

    // ------------------------------------------------------------------ commands

    void Execute(ISweepCommand command, IActorRef replyTo)
    {
        var decision = _state.Decide(command, _settings.Retry);
        if (decision.Rejected)
        {
            if (command is ScheduleRuns) return;
            _log.Warning("command={0} event=rejected reason=\"{1}\"", command.GetType().Name, decision.Rejection);
            Reply(replyTo, new CommandReply(false, decision.Rejection!));
            return;
        }
        if (decision.Events.IsEmpty)
        {
            Reply(replyTo, new CommandReply(true, "nothing to change"));
            return;
        }
        var remaining = decision.Events.Length;
        PersistAll(decision.Events, e =>
        {
            _state = _state.Apply(e);
            AfterEvent(e);
            if (--remaining == 0)
            {
                Reply(replyTo, new CommandReply(true, Summary(decision.Events)));
                MaybeSnapshot(decision.Events.Length);
                if (command is not ScheduleRuns) Schedule();
            }
        });
    }

    static void Reply(IActorRef to, CommandReply reply)
    {
        if (!to.IsNobody()) to.Tell(reply);
    }

    void MaybeSnapshot(int events)
    {
        _sinceSnapshot += events;
        if (_sinceSnapshot < _settings.SnapshotEvery) return;
        _sinceSnapshot = 0;
        SaveSnapshot(CoordinatorSnapshot.From(_state));
    }

    void OnSubmitFile(SubmitSweepFile f)
    {
        SweepSpec spec;
        try
        {
            spec = SweepPlanner.Plan(SweepFile.Parse(f.Text, f.Source), _backend.SolveN);
        }
        catch (UserInputException e)
        {
            Sender.Tell(new CommandReply(false, e.Message));
            return;
        }
        Execute(new SubmitSweep(spec), Sender);
    }

    void OnRegister(RegisterNode r)
    {
        var now = DateTimeOffset.UtcNow;
        var isNew = !_nodes.ContainsKey(r.NodeId);
        _nodes[r.NodeId] = new NodeEntry(r.NodeId, r.Agent, r.Slots, r.Device, now);
        if (isNew) _log.Info("node={0} event=registered slots={1} device={2}", r.NodeId, r.Slots, r.Device);
        foreach (var l in r.Leases)
        {
            if (_state.Runs.TryGetValue(l.RunId, out var run) && run.HoldsLease && run.Lease!.Epoch == l.Epoch && run.Lease.NodeId == r.NodeId)
                _leaseSeen[(l.RunId, l.Epoch)] = now;
            else
            {
                // fencing: a node still working on a lease that moved on (or ended) stops wasting its slots
                _log.Warning("node={0} run={1} epoch={2} event=stale-lease action=cancel", r.NodeId, l.RunId, l.Epoch);
                r.Agent.Tell(new StopRun(l.RunId, l.Epoch, StopKind.Cancel));
            }
        }
        Schedule();
    }

    void OnTick()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var run in _state.Runs.Values.Where(r => r.HoldsLease).ToList())
        {
            var key = (run.Spec.RunId, run.Lease!.Epoch);
            var seen = _leaseSeen.TryGetValue(key, out var t) ? t : now;
            _leaseSeen[key] = seen;
            if (now - seen > _settings.LeaseTimeout)
            {
                _log.Warning("run={0} epoch={1} node={2} event=lease-expired", run.Spec.RunId, run.Lease.Epoch, run.Lease.NodeId);
                _leaseSeen.Remove(key);
                Execute(new LeaseLost(run.Spec.RunId, run.Lease.Epoch), ActorRefs.NoSender);
            }
        }
        foreach (var n in _nodes.Values.Where(n => now - n.LastSeen > _settings.LeaseTimeout).ToList())
        {
            _log.Warning("node={0} event=lost", n.NodeId);
            _nodes.Remove(n.NodeId);
        }
        Schedule();
    }

    void Schedule()
    {
        if (_nodes.Count == 0) return;
        var slots = _nodes.Values.SelectMany(n => Enumerable.Range(0, n.Slots).Select(i => new SlotRef(n.NodeId, i))).ToImmutableArray();
        var decision = _state.Decide(new ScheduleRuns(slots, DateTimeOffset.UtcNow));
        if (!decision.Rejected && !decision.Events.IsEmpty) Execute(new ScheduleRuns(slots, DateTimeOffset.UtcNow), ActorRefs.NoSender);
    }

    // ------------------------------------------------------------------ effects of events

    void AfterEvent(ISweepEvent e)
    {
        LogEvent(e);
        switch (e)
        {
            case SweepSubmitted:
                PrepareDatasets();
                MeasureFinished();
                break;
            case DatasetPrepared or DatasetFailed:
                _preparing.Remove(e is DatasetPrepared p ? p.Key : ((DatasetFailed)e).Key);
                MeasureFinished();
                break;
            case RunLeased l:
                _leaseSeen[(l.RunId, l.Epoch)] = DateTimeOffset.UtcNow;
                SendStart(l);
                break;
            case RunStopRequested s:
                if (_state.Runs[s.RunId].Lease is { } lease && _nodes.TryGetValue(lease.NodeId, out var node))
                    node.Agent.Tell(new StopRun(s.RunId, s.Epoch, s.Kind));
                break;
            case RunCompleted or RunFailed or RunCancelled or RunSuspended or RunRequeued or RunAttemptFailed:
                foreach (var k in _leaseSeen.Keys.Where(k => k.RunId == RunIdOf(e)).ToList()) _leaseSeen.Remove(k);
                MeasureFinished();
                break;
            case CapacityMeasured m:
                _measuring.Remove(m.Sweep);
                break;
        }
    }

    void SendStart(RunLeased l)
    {
        var run = _state.Runs[l.RunId];
        var ds = _state.Datasets[run.Spec.DatasetKey];
        var sweep = _state.Sweeps[run.Sweep].Spec;
        if (!_nodes.TryGetValue(l.NodeId, out var node)) return; // the lease expires and the run is requeued
        node.Agent.Tell(new StartRun(l.RunId, l.Epoch, l.Slots, run.Spec, sweep.Training, sweep.HopRatio, ds.Spec,
            ds.ProfilesPath!, ds.TokenizerPath!, _settings.RunDir(run.Spec), Self));
    }

    void PrepareDatasets()
    {
        foreach (var d in _state.DatasetsToPrepare)
            if (_preparing.Add(d.Spec.Key))
                _datasets.Tell(new DatasetPreparer.Prepare(d.Spec));
    }

    void MeasureFinished()
    {
        foreach (var s in _state.SweepsToMeasure)
        {
            if (!_measuring.Add(s.Spec.Name)) continue;
            var runs = _state.RunsOf(s.Spec.Name).Where(r => r.Status == RunStatus.Completed)
                .Select(r => (r.Spec, _settings.RunDir(r.Spec))).ToList();
            _evaluator.Tell(new EvaluatorActor.MeasureCapacity(s.Spec, runs, _settings.SweepDir(s.Spec.Name)));
        }
    }

    void OnProgress(RunProgress p)
    {
        if (!IsCurrent(p.RunId, p.Epoch)) return;
        Broadcast(Notice("progress", p.RunId, p.Step, p.Loss,
            string.Create(CultureInfo.InvariantCulture, $"step {p.Step} loss {p.Loss:F4} ({p.StepsPerSecond:F1} steps/s)")));
    }

    void OnEval(EvalReport r)
    {
        if (!IsCurrent(r.RunId, r.Epoch)) return;
        var text = string.Join(" ", r.Losses.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value:F3}")));
        Broadcast(Notice("eval", r.RunId, r.Step, r.Losses.GetValueOrDefault("train_onehop", double.NaN), $"eval step {r.Step}: {text}"));
    }

    bool IsCurrent(string runId, long epoch) =>
        _state.Runs.TryGetValue(runId, out var run) && run.HoldsLease && run.Lease!.Epoch == epoch;

    // ------------------------------------------------------------------ logs, watchers, queries

    void LogEvent(ISweepEvent e)
    {
        var (runId, step, text) = Describe(e);
        var fields = string.Join(" ", new[] { runId != null ? $"run={runId}" : null, step != null ? $"step={step}" : null, $"event={EventName(e)}", text }
            .Where(f => !string.IsNullOrEmpty(f)));
        _log.Info(fields);
        Broadcast(Notice(EventName(e), runId, step, (e as CheckpointRecorded)?.TrainLoss, text));
    }

    void Broadcast(WatchNotice n)
    {
        foreach (var w in _watchers) w.Tell(n);
    }

    static WatchNotice Notice(string kind, string? runId, long? step, double? loss, string text) =>
        new(DateTimeOffset.UtcNow, kind, runId, step, loss, text);

    public static string EventName(ISweepEvent e)
    {
        var n = e.GetType().Name;
        return string.Concat(n.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
    }

    static string? RunIdOf(ISweepEvent e) => Describe(e).RunId;

    static (string? RunId, long? Step, string Text) Describe(ISweepEvent e) => e switch
    {
        SweepSubmitted x => (null, null, $"sweep={x.Spec.Name} runs={x.Spec.Runs.Length} datasets={x.Spec.Datasets.Length} hash={x.Spec.ContentHash}"),
        DatasetPrepared x => (null, null, $"dataset={x.Key}"),
        DatasetFailed x => (null, null, $"dataset={x.Key} error=\"{x.Error}\""),
        RunLeased x => (x.RunId, null, $"epoch={x.Epoch} node={x.NodeId} slots={string.Join('+', x.Slots)}"),
        RunStarted x => (x.RunId, x.Step, $"epoch={x.Epoch}"),
        CheckpointRecorded x => (x.RunId, x.Step, string.Create(CultureInfo.InvariantCulture, $"epoch={x.Epoch} loss={x.TrainLoss:F4}")),
        RunCompleted x => (x.RunId, x.Step, $"epoch={x.Epoch} reason=\"{x.Reason}\""),
        RunAttemptFailed x => (x.RunId, null, $"epoch={x.Epoch} retry-at={x.RetryAt:O} error=\"{x.Error}\""),
        RunFailed x => (x.RunId, null, $"error=\"{x.Error}\""),
        RunStopRequested x => (x.RunId, null, $"epoch={x.Epoch} kind={x.Kind}"),
        RunSuspended x => (x.RunId, x.Step, $"epoch={x.Epoch}"),
        RunRequeued x => (x.RunId, null, $"reason=\"{x.Reason}\""),
        RunCancelled x => (x.RunId, null, ""),
        SweepPaused x => (null, null, $"sweep={x.Sweep}"),
        SweepResumed x => (null, null, $"sweep={x.Sweep}"),
        SweepStopped x => (null, null, $"sweep={x.Sweep}"),
        SweepCancelled x => (null, null, $"sweep={x.Sweep}"),
        CapacityMeasured x => (null, null, $"sweep={x.Sweep} dir={x.OutputDir}{(x.Error != null ? $" error=\"{x.Error}\"" : "")}"),
        _ => (null, null, e.GetType().Name),
    };

    static string Summary(ImmutableArray<ISweepEvent> events) =>
        string.Join("; ", events.GroupBy(EventName).Select(g => g.Count() == 1 ? g.Key : $"{g.Key} x{g.Count()}"));

    StatusReply Status()
    {
        var now = DateTimeOffset.UtcNow;
        var sweeps = _state.SweepsInOrder.Select(s =>
        {
            var runs = _state.RunsOf(s.Spec.Name).ToList();
            int Count(params RunStatus[] st) => runs.Count(r => st.Contains(r.Status));
            var status = s.Measured ? "finished" : s.Cancelled ? "cancelled" : s.Stopped ? "stopping" : s.Paused ? "paused"
                : _state.AllRunsEnded(s.Spec.Name) ? "measuring" : "running";
            return new SweepSummary(s.Spec.Name, status, runs.Count, Count(RunStatus.Queued), Count(RunStatus.Leased, RunStatus.Running),
                Count(RunStatus.Suspended), Count(RunStatus.Completed), Count(RunStatus.Failed), Count(RunStatus.Cancelled),
                s.CapacityDir, s.CapacityError);
        }).ToImmutableArray();
        var busy = _state.LeasedSlots.GroupBy(s => s.NodeId).ToDictionary(g => g.Key, g => g.Count());
        var nodes = _nodes.Values.Select(n => new NodeSummary(n.NodeId, n.Device, n.Slots, busy.GetValueOrDefault(n.NodeId), (now - n.LastSeen).TotalSeconds))
            .ToImmutableArray();
        return new StatusReply(sweeps, nodes, _settings.DataDir);
    }

    RunsReply Runs(string? sweep) =>
        new(_state.Runs.Values.Where(r => sweep == null || r.Sweep == sweep)
            .OrderBy(r => _state.Sweeps[r.Sweep].Order).ThenBy(r => _state.Sweeps[r.Sweep].Spec.Runs.IndexOf(r.Spec))
            .Select(r => new RunSummary(r.Spec.RunId, r.Status.ToString(), r.Step, r.CheckpointStep, r.TrainLoss, r.Lease?.NodeId, r.Lease?.Epoch,
                r.FailedAttempts, r.Error))
            .ToImmutableArray());
}
