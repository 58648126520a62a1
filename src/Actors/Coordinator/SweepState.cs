using System.Collections.Immutable;
using System.Text.Json.Serialization;
using ActorLab.Actors.Sweeps;

namespace ActorLab.Actors.Coordinator;

public enum RunStatus { Queued, Leased, Running, Suspended, Completed, Failed, Cancelled }

/// <summary>Which slots of which node hold a run, under which epoch.</summary>
public sealed record Lease(long Epoch, string NodeId, ImmutableArray<int> Slots);

public sealed record RunInfo
{
    public required RunSpec Spec { get; init; }
    public required string Sweep { get; init; }
    public RunStatus Status { get; init; } = RunStatus.Queued;
    public Lease? Lease { get; init; }
    /// <summary>Latest step known to the coordinator (start, checkpoint, completion).</summary>
    public long Step { get; init; }
    public long CheckpointStep { get; init; }
    public string? CheckpointPath { get; init; }
    public double? TrainLoss { get; init; }
    /// <summary>Failed attempts since the last success (a checkpoint resets it).</summary>
    public int FailedAttempts { get; init; }
    public DateTimeOffset? RetryAt { get; init; }
    public StopKind? StopRequested { get; init; }
    public string? Error { get; init; }
    public string? CompletedReason { get; init; }

    [JsonIgnore]
    public bool IsTerminal => Status is RunStatus.Completed or RunStatus.Failed or RunStatus.Cancelled;
    [JsonIgnore]
    public bool HoldsLease => Status is RunStatus.Leased or RunStatus.Running;
}

public sealed record DatasetInfo(DatasetSpec Spec, string? ProfilesPath = null, string? TokenizerPath = null, string? Error = null)
{
    [JsonIgnore]
    public bool Prepared => ProfilesPath != null;
}

public sealed record SweepInfo
{
    public required SweepSpec Spec { get; init; }
    public required int Order { get; init; }
    public bool Paused { get; init; }
    public bool Stopped { get; init; }
    public bool Cancelled { get; init; }
    public string? CapacityDir { get; init; }
    public string? CapacityError { get; init; }
    public bool Measured { get; init; }

    /// <summary>No new runs start (paused, stopped or cancelled).</summary>
    [JsonIgnore]
    public bool Halted => Paused || Stopped || Cancelled;
}

/// <summary>
/// Everything the coordinator knows, as a pure value: sweeps, runs with their leases, datasets. <see cref="Apply"/>
/// folds one event in (used by recovery and after each persist), <see cref="Decide"/> turns a command into events
/// or a rejection without changing anything. No I/O, no clock (time comes in with the command).
/// </summary>
public sealed record SweepState
{
    public static readonly SweepState Empty = new();

    public ImmutableSortedDictionary<string, SweepInfo> Sweeps { get; init; } = ImmutableSortedDictionary<string, SweepInfo>.Empty.WithComparers(StringComparer.Ordinal);
    public ImmutableSortedDictionary<string, RunInfo> Runs { get; init; } = ImmutableSortedDictionary<string, RunInfo>.Empty.WithComparers(StringComparer.Ordinal);
    public ImmutableSortedDictionary<string, DatasetInfo> Datasets { get; init; } = ImmutableSortedDictionary<string, DatasetInfo>.Empty.WithComparers(StringComparer.Ordinal);
    /// <summary>Highest lease epoch ever given out: epochs only grow, so a stale holder can always be told apart.</summary>
    public long LastEpoch { get; init; }

    // ---------------------------------------------------------------- queries

    public IEnumerable<RunInfo> RunsOf(string sweep) =>
        Sweeps.TryGetValue(sweep, out var s) ? s.Spec.Runs.Select(r => Runs[r.RunId]) : [];

    /// <summary>Every sweep in submission order.</summary>
    [JsonIgnore]
    public IEnumerable<SweepInfo> SweepsInOrder => Sweeps.Values.OrderBy(s => s.Order);

    /// <summary>All runs of the sweep have ended (completed, failed or cancelled).</summary>
    public bool AllRunsEnded(string sweep) => RunsOf(sweep).All(r => r.IsTerminal);

    /// <summary>Sweeps whose runs all ended and whose capacity is not measured yet.</summary>
    [JsonIgnore]
    public IEnumerable<SweepInfo> SweepsToMeasure => SweepsInOrder.Where(s => !s.Measured && AllRunsEnded(s.Spec.Name));

    public bool Finished(string sweep) => Sweeps.TryGetValue(sweep, out var s) && s.Measured;

    /// <summary>Datasets some live run still waits for.</summary>
    [JsonIgnore]
    public IEnumerable<DatasetInfo> DatasetsToPrepare =>
        Datasets.Values.Where(d => !d.Prepared && d.Error == null &&
                                   Runs.Values.Any(r => r.Spec.DatasetKey == d.Spec.Key && !r.IsTerminal && !Sweeps[r.Sweep].Cancelled));

    /// <summary>Slots held by leases, per node.</summary>
    [JsonIgnore]
    public IEnumerable<SlotRef> LeasedSlots =>
        Runs.Values.Where(r => r.HoldsLease).SelectMany(r => r.Lease!.Slots.Select(s => new SlotRef(r.Lease.NodeId, s)));

    /// <summary>Finds a run by full id ("sweep/run") or by a suffix that matches exactly one run.</summary>
    public RunInfo? FindRun(string idOrSuffix)
    {
        if (Runs.TryGetValue(idOrSuffix, out var exact)) return exact;
        var matches = Runs.Values.Where(r => r.Spec.RunId.EndsWith("/" + idOrSuffix, StringComparison.Ordinal) || r.Spec.RunName == idOrSuffix).Take(2).ToList();
        return matches.Count == 1 ? matches[0] : null;
    }

    // ---------------------------------------------------------------- apply

    public SweepState Apply(ISweepEvent e) => e switch
    {
        SweepSubmitted x => this with
        {
            Sweeps = Sweeps.SetItem(x.Spec.Name, new SweepInfo { Spec = x.Spec, Order = Sweeps.Count }),
            Runs = Runs.SetItems(x.Spec.Runs.Select(r => KeyValuePair.Create(r.RunId, new RunInfo { Spec = r, Sweep = x.Spec.Name }))),
            Datasets = Datasets.SetItems(x.Spec.Datasets.Where(d => !Datasets.ContainsKey(d.Key))
                .Select(d => KeyValuePair.Create(d.Key, new DatasetInfo(d)))),
        },
        DatasetPrepared x => this with { Datasets = Datasets.SetItem(x.Key, Datasets[x.Key] with { ProfilesPath = x.ProfilesPath, TokenizerPath = x.TokenizerPath, Error = null }) },
        DatasetFailed x => this with { Datasets = Datasets.SetItem(x.Key, Datasets[x.Key] with { Error = x.Error }) },
        RunLeased x => Run(x.RunId, r => r with
        {
            Status = RunStatus.Leased, Lease = new Lease(x.Epoch, x.NodeId, x.Slots), StopRequested = null, RetryAt = null,
        }) with { LastEpoch = Math.Max(LastEpoch, x.Epoch) },
        RunStarted x => Run(x.RunId, r => r with { Status = RunStatus.Running, Step = x.Step }),
        CheckpointRecorded x => Run(x.RunId, r => r with
        {
            Step = Math.Max(r.Step, x.Step), CheckpointStep = x.Step, CheckpointPath = x.Path, TrainLoss = x.TrainLoss, FailedAttempts = 0,
        }),
        RunCompleted x => Run(x.RunId, r => r with { Status = RunStatus.Completed, Lease = null, Step = x.Step, CompletedReason = x.Reason, StopRequested = null }),
        RunAttemptFailed x => Run(x.RunId, r => r with
        {
            Status = RunStatus.Queued, Lease = null, FailedAttempts = r.FailedAttempts + 1, RetryAt = x.RetryAt, Error = x.Error, StopRequested = null,
        }),
        RunFailed x => Run(x.RunId, r => r with { Status = RunStatus.Failed, Lease = null, Error = x.Error, StopRequested = null }),
        RunStopRequested x => Run(x.RunId, r => r with { StopRequested = x.Kind }),
        RunSuspended x => Run(x.RunId, r => r with { Status = RunStatus.Suspended, Lease = null, Step = Math.Max(r.Step, x.Step), StopRequested = null }),
        RunRequeued x => Run(x.RunId, r => r with { Status = RunStatus.Queued, Lease = null, StopRequested = null }),
        RunCancelled x => Run(x.RunId, r => r with { Status = RunStatus.Cancelled, Lease = null, StopRequested = null }),
        SweepPaused x => Sweep(x.Sweep, s => s with { Paused = true }),
        SweepResumed x => Sweep(x.Sweep, s => s with { Paused = false }),
        SweepStopped x => Sweep(x.Sweep, s => s with { Stopped = true }),
        SweepCancelled x => Sweep(x.Sweep, s => s with { Cancelled = true }),
        CapacityMeasured x => Sweep(x.Sweep, s => s with { Measured = true, CapacityDir = x.OutputDir, CapacityError = x.Error }),
        _ => throw new ArgumentException($"unknown event {e.GetType().Name}"),
    };

    public SweepState ApplyAll(IEnumerable<ISweepEvent> events) => events.Aggregate(this, (s, e) => s.Apply(e));

    SweepState Run(string id, Func<RunInfo, RunInfo> f) => this with { Runs = Runs.SetItem(id, f(Runs[id])) };
    SweepState Sweep(string name, Func<SweepInfo, SweepInfo> f) => this with { Sweeps = Sweeps.SetItem(name, f(Sweeps[name])) };

    // ---------------------------------------------------------------- decide

    public Decision Decide(ISweepCommand command, RetryPolicy? policy = null) => command switch
    {
        SubmitSweep c => Submit(c.Spec),
        ReportDatasetPrepared c => Datasets.TryGetValue(c.Key, out var d)
            ? d.Prepared ? Decision.None : Decision.Of(new DatasetPrepared(c.Key, c.ProfilesPath, c.TokenizerPath))
            : Decision.Reject($"unknown dataset '{c.Key}'"),
        ReportDatasetFailed c => DatasetFailure(c),
        ScheduleRuns c => Schedule(c),
        ReportRunStarted c => Fenced(c.RunId, c.Epoch, r => r.Status == RunStatus.Leased || r.Status == RunStatus.Running
            ? Decision.Of(new RunStarted(c.RunId, c.Epoch, c.Step))
            : Decision.Reject($"run {c.RunId} is {r.Status}")),
        ReportCheckpoint c => Fenced(c.RunId, c.Epoch, r => c.Step < r.CheckpointStep
            ? Decision.Reject($"checkpoint at step {c.Step} is older than the recorded one at {r.CheckpointStep}")
            : Decision.Of(new CheckpointRecorded(c.RunId, c.Epoch, c.Step, c.Path, c.TrainLoss))),
        ReportRunCompleted c => Fenced(c.RunId, c.Epoch, _ => Decision.Of(new RunCompleted(c.RunId, c.Epoch, c.Step, c.Reason))),
        ReportRunFailed c => Fenced(c.RunId, c.Epoch, r => AttemptFailed(r, c.Epoch, c.Error, c.Now, policy ?? RetryPolicy.Default)),
        ReportRunStopped c => Fenced(c.RunId, c.Epoch, r => Stopped(r, c)),
        LeaseLost c => Fenced(c.RunId, c.Epoch, r => Decision.Of(
            Sweeps[r.Sweep].Cancelled || Sweeps[r.Sweep].Stopped || r.StopRequested == StopKind.Cancel
                ? new RunCancelled(r.Spec.RunId)
                : r.StopRequested == StopKind.Suspend
                    ? new RunSuspended(r.Spec.RunId, c.Epoch, r.CheckpointStep)
                    : new RunRequeued(r.Spec.RunId, $"lease {c.Epoch} on {r.Lease!.NodeId} lost"))),
        PauseSweep c => ForSweeps(c.Sweep, s => s.Paused || s.Stopped || s.Cancelled ? [] : [new SweepPaused(s.Spec.Name)]),
        ResumeSweep c => ForSweeps(c.Sweep, s => s.Paused ? [new SweepResumed(s.Spec.Name)] : []),
        StopSweep c => ForSweeps(c.Sweep, s => s.Stopped || s.Cancelled
            ? []
            : RunsOf(s.Spec.Name).Where(r => r.Status is RunStatus.Queued or RunStatus.Suspended)
                .Select(r => (ISweepEvent)new RunCancelled(r.Spec.RunId)).Prepend(new SweepStopped(s.Spec.Name))),
        CancelSweep c => ForSweeps(c.Sweep, s => s.Cancelled ? [] : CancelAll(s)),
        SuspendRun c => WithRun(c.RunId, r => r.HoldsLease
            ? r.StopRequested != null ? Decision.Reject($"run {r.Spec.RunId} is already stopping") : Decision.Of(new RunStopRequested(r.Spec.RunId, r.Lease!.Epoch, StopKind.Suspend))
            : Decision.Reject($"run {r.Spec.RunId} is {r.Status}, not running")),
        ResumeRun c => WithRun(c.RunId, r => r.Status == RunStatus.Suspended
            ? Sweeps[r.Sweep].Stopped || Sweeps[r.Sweep].Cancelled
                ? Decision.Reject($"sweep {r.Sweep} is stopped; its runs cannot be resumed")
                : Decision.Of(new RunRequeued(r.Spec.RunId, "resumed"))
            : Decision.Reject($"run {r.Spec.RunId} is {r.Status}, not suspended")),
        ReportCapacity c => Sweeps.ContainsKey(c.Sweep)
            ? Decision.Of(new CapacityMeasured(c.Sweep, c.OutputDir, c.Error))
            : Decision.Reject($"unknown sweep '{c.Sweep}'"),
        _ => Decision.Reject($"unknown command {command.GetType().Name}"),
    };

    Decision Submit(SweepSpec spec)
    {
        if (Sweeps.TryGetValue(spec.Name, out var existing))
            return existing.Spec.ContentHash == spec.ContentHash
                ? Decision.None
                : Decision.Reject($"a different sweep named '{spec.Name}' was already submitted (content {existing.Spec.ContentHash}, this one {spec.ContentHash}); rename it");
        var clash = spec.Runs.FirstOrDefault(r => Runs.ContainsKey(r.RunId));
        if (clash != null) return Decision.Reject($"run id '{clash.RunId}' already exists");
        var conflicting = spec.Datasets.FirstOrDefault(d => Datasets.TryGetValue(d.Key, out var old) && old.Spec != d);
        if (conflicting != null) return Decision.Reject($"dataset '{conflicting.Key}' already exists with other settings");
        return Decision.Of(new SweepSubmitted(spec));
    }

    Decision DatasetFailure(ReportDatasetFailed c)
    {
        if (!Datasets.ContainsKey(c.Key)) return Decision.Reject($"unknown dataset '{c.Key}'");
        var events = new List<ISweepEvent> { new DatasetFailed(c.Key, c.Error) };
        events.AddRange(Runs.Values.Where(r => r.Spec.DatasetKey == c.Key && r.Status == RunStatus.Queued)
            .Select(r => new RunFailed(r.Spec.RunId, $"dataset {c.Key}: {c.Error}")));
        return Decision.Of(events);
    }

    Decision Schedule(ScheduleRuns c)
    {
        var free = c.FreeSlots.Except(LeasedSlots).GroupBy(s => s.NodeId)
            .ToDictionary(g => g.Key, g => new SortedSet<int>(g.Select(s => s.Slot)));
        var events = new List<ISweepEvent>();
        var epoch = LastEpoch;
        foreach (var sweep in SweepsInOrder.Where(s => !s.Halted))
        foreach (var run in RunsOf(sweep.Spec.Name))
        {
            if (run.Status != RunStatus.Queued || (run.RetryAt is { } at && at > c.Now)) continue;
            if (Datasets[run.Spec.DatasetKey] is not { Prepared: true }) continue;
            var k = run.Spec.DataParallel;
            var node = free.FirstOrDefault(n => n.Value.Count >= k);
            if (node.Key == null) continue;
            var slots = node.Value.Take(k).ToImmutableArray();
            foreach (var s in slots) node.Value.Remove(s);
            events.Add(new RunLeased(run.Spec.RunId, ++epoch, node.Key, slots));
        }
        return Decision.Of(events);
    }

    /// <summary>A report about a run counts only if it comes from the current lease (same epoch, lease held).</summary>
    Decision Fenced(string runId, long epoch, Func<RunInfo, Decision> decide)
    {
        if (!Runs.TryGetValue(runId, out var run)) return Decision.Reject($"unknown run '{runId}'");
        if (!run.HoldsLease || run.Lease!.Epoch != epoch)
            return Decision.Reject(
                $"stale lease: run {runId} epoch {epoch} is not the current lease ({(run.HoldsLease ? $"epoch {run.Lease!.Epoch}" : run.Status.ToString())})");
        return decide(run);
    }

    Decision AttemptFailed(RunInfo run, long epoch, string error, DateTimeOffset now, RetryPolicy policy)
    {
        // A halted sweep (stopped or cancelled) starts nothing again, so a failing run ends here.
        if (Sweeps[run.Sweep].Cancelled || Sweeps[run.Sweep].Stopped || run.StopRequested == StopKind.Cancel)
            return Decision.Of(new RunCancelled(run.Spec.RunId));
        var attempts = run.FailedAttempts + 1;
        if (attempts >= policy.MaxAttempts)
            return Decision.Of(new RunFailed(run.Spec.RunId, $"failed {attempts} times in a row; last: {error}"));
        return Decision.Of(new RunAttemptFailed(run.Spec.RunId, epoch, error, now + policy.Backoff(attempts)));
    }

    Decision Stopped(RunInfo run, ReportRunStopped c) => c.Kind switch
    {
        StopKind.Cancel => Decision.Of(new RunCancelled(run.Spec.RunId)),
        _ when Sweeps[run.Sweep].Cancelled => Decision.Of(new RunCancelled(run.Spec.RunId)),
        _ => Decision.Of(new RunSuspended(run.Spec.RunId, c.Epoch, c.Step)),
    };

    IEnumerable<ISweepEvent> CancelAll(SweepInfo s)
    {
        yield return new SweepCancelled(s.Spec.Name);
        foreach (var r in RunsOf(s.Spec.Name))
        {
            if (r.Status is RunStatus.Queued or RunStatus.Suspended) yield return new RunCancelled(r.Spec.RunId);
            else if (r.HoldsLease && r.StopRequested != StopKind.Cancel) yield return new RunStopRequested(r.Spec.RunId, r.Lease!.Epoch, StopKind.Cancel);
        }
    }

    Decision ForSweeps(string? sweep, Func<SweepInfo, IEnumerable<ISweepEvent>> f)
    {
        if (sweep != null)
            return Sweeps.TryGetValue(sweep, out var s) ? Decision.Of(f(s)) : Decision.Reject($"unknown sweep '{sweep}'");
        return Decision.Of(SweepsInOrder.Where(s => !s.Measured).SelectMany(f));
    }

    Decision WithRun(string idOrSuffix, Func<RunInfo, Decision> f) =>
        FindRun(idOrSuffix) is { } run ? f(run) : Decision.Reject($"unknown run '{idOrSuffix}'");
}
