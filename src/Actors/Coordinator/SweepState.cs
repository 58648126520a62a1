using System.Collections.Immutable;
using ActorLab.Actors.Node;
using ActorLab.Model.Profiles;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Coordinator;

public enum RunStatus { Queued, Leased, Running, Suspended, Completed, Failed, Cancelled }

public enum JobStatus { Queued, Leased, Done, Failed }

/// <summary>
/// Which slots of which node hold a run or job, under which epoch. A cross-node data-parallel run has further ranks
/// on <see cref="Others"/>: its ranks are <see cref="NodeId"/>'s slots (rank 0 first: the leader, which reports),
/// then the others in order.
/// </summary>
public sealed record Lease(long Epoch, string NodeId, ImmutableArray<int> Slots)
{
    public ImmutableArray<SlotRef> Others { get; init; } = [];

    /// <summary>Every slot of the lease in rank order.</summary>
    public IEnumerable<SlotRef> Ranks => Slots.Select(s => new SlotRef(NodeId, s)).Concat(Others);

    /// <summary>The nodes the lease spans, the leader's first.</summary>
    public IEnumerable<string> Nodes => Ranks.Select(r => r.NodeId).Distinct();

    public bool Spans(string node) => NodeId == node || Others.Any(o => o.NodeId == node);

    // by content: journalled and recovered copies compare equal
    public bool Equals(Lease? other) =>
        other is not null && Epoch == other.Epoch && NodeId == other.NodeId && Slots.SequenceEqual(other.Slots) && Others.SequenceEqual(other.Others);

    public override int GetHashCode() => HashCode.Combine(Epoch, NodeId, Slots.Length, Others.Length);
}

public sealed record RunInfo
{
    public required RunConfig Config { get; init; }
    public string RunId => Config.RunId;
    public string Sweep => Config.Sweep!;
    public RunStatus Status { get; init; } = RunStatus.Queued;
    public Lease? Lease { get; init; }
    /// <summary>Latest step known to the coordinator (start, checkpoint, completion).</summary>
    public long Step { get; init; }
    /// <summary>The checkpoint the next lease resumes from (the latest one a current lease wrote).</summary>
    public CheckpointRef? Checkpoint { get; init; }
    public double? TrainLoss { get; init; }
    /// <summary>Failed attempts since the last success (a checkpoint resets it).</summary>
    public int FailedAttempts { get; init; }
    public DateTimeOffset? RetryAt { get; init; }
    public StopKind? StopRequested { get; init; }
    public string? Error { get; init; }
    public string? CompletedReason { get; init; }
    /// <summary>The epoch whose eval results are the run's (completed runs), and their SHA-256.</summary>
    public long? ResultsEpoch { get; init; }
    public string? ResultsSha256 { get; init; }
    /// <summary>It was running when its sweep was stopped: it may finish (and be requeued after a crash) though the sweep starts nothing new.</summary>
    public bool FinishAfterStop { get; init; }

    public bool IsTerminal => Status is RunStatus.Completed or RunStatus.Failed or RunStatus.Cancelled;
    public bool HoldsLease => Status is RunStatus.Leased or RunStatus.Running;
}

/// <summary>A dataset of some sweep; <see cref="Fingerprint"/> once its first build is done.</summary>
public sealed record DatasetInfo(DatasetConfig Config, DatasetFingerprint? Fingerprint = null)
{
    public bool Prepared => Fingerprint != null;
}

/// <summary>A job other than training: prepare a dataset, measure a sweep, probe a run.</summary>
public sealed record JobInfo
{
    public required string JobId { get; init; }
    public required JobKind Kind { get; init; }
    /// <summary>Dataset id, sweep name or run id.</summary>
    public required string Target { get; init; }
    public ProbeRequest? Probe { get; init; }
    public JobStatus Status { get; init; } = JobStatus.Queued;
    public Lease? Lease { get; init; }
    public int FailedAttempts { get; init; }
    public DateTimeOffset? RetryAt { get; init; }
    /// <summary>Why the last attempt failed, or (done) why the job produced nothing.</summary>
    public string? Error { get; init; }
    public bool HoldsLease => Status == JobStatus.Leased;
}

public sealed record SweepInfo
{
    public required string Name { get; init; }
    public required string ContentHash { get; init; }
    public required ImmutableArray<string> RunIds { get; init; }
    public required ImmutableArray<string> DatasetIds { get; init; }
    public required int Order { get; init; }
    /// <summary>How the sweep is measured once all its runs ended (null: the default).</summary>
    public Sweeps.SweepMeasure? Measure { get; init; }
    /// <summary>Its data-parallel runs may spread over nodes.</summary>
    public bool AllowCrossNode { get; init; }
    /// <summary>Runs that reached a terminal state (kept by Apply, so "all ended" is O(1)).</summary>
    public int EndedRuns { get; init; }
    public bool Paused { get; init; }
    public bool Stopped { get; init; }
    public bool Cancelled { get; init; }

    /// <summary>No new runs start (paused, stopped or cancelled).</summary>
    public bool Halted => Paused || Stopped || Cancelled;
    public bool AllRunsEnded => EndedRuns == RunIds.Length;
}

/// <summary>Failed attempts on a node in a row (any success resets it), and whether it is quarantined.</summary>
public sealed record NodeHealth(int Failures, ImmutableSortedSet<string> FailedTargets, DateTimeOffset? QuarantinedUntil)
{
    public static readonly NodeHealth Healthy = new(0, ImmutableSortedSet<string>.Empty.WithComparer(StringComparer.Ordinal), null);
    public bool QuarantinedAt(DateTimeOffset now) => QuarantinedUntil is { } u && u > now;
}

/// <summary>
/// Everything the coordinator knows, as a pure value: sweeps, runs and jobs with their leases, datasets, node
/// health. The coordinator is a job scheduler: it leases runs (training) and jobs (prepare a dataset, measure
/// a sweep, probe a run) to slots, every lease under a new epoch. <see cref="Apply"/> folds one event in (used
/// by recovery and after each persist); <see cref="Decide"/> turns a command into events or a rejection without
/// changing anything. No I/O, no clock (time comes in with the command).
/// </summary>
public sealed record SweepState
{
    public static readonly SweepState Empty = new();

    static ImmutableSortedDictionary<string, T> Map<T>() => ImmutableSortedDictionary<string, T>.Empty.WithComparers(StringComparer.Ordinal);

    public ImmutableSortedDictionary<string, SweepInfo> Sweeps { get; init; } = Map<SweepInfo>();
    public ImmutableSortedDictionary<string, RunInfo> Runs { get; init; } = Map<RunInfo>();
    public ImmutableSortedDictionary<string, DatasetInfo> Datasets { get; init; } = Map<DatasetInfo>();
    public ImmutableSortedDictionary<string, JobInfo> Jobs { get; init; } = Map<JobInfo>();
    public ImmutableSortedDictionary<string, NodeHealth> Nodes { get; init; } = Map<NodeHealth>();
    /// <summary>Highest lease epoch ever given out: epochs only grow, so a stale holder can always be told apart.</summary>
    public long LastEpoch { get; init; }

    public static string DatasetJobId(string datasetId) => $"dataset:{datasetId}";

    /// <summary>Runs per journal event of a submitted sweep (about 1 KB each: a row stays around 1 MB).</summary>
    public const int RunsPerEvent = 1000;
    public static string MeasureJobId(string sweep) => $"measure:{sweep}";

    // ---------------------------------------------------------------- queries

    public IEnumerable<RunInfo> RunsOf(string sweep) =>
        Sweeps.TryGetValue(sweep, out var s) ? s.RunIds.Select(id => Runs[id]) : [];

    /// <summary>Every sweep in submission order.</summary>
    public IEnumerable<SweepInfo> SweepsInOrder => Sweeps.Values.OrderBy(s => s.Order);

    /// <summary>What a sweep's measure job needs: its completed runs with their accepted results, its datasets, how to measure.</summary>
    public JobSpec MeasureSpec(string sweep) => new()
    {
        Sweep = sweep,
        Runs = [.. RunsOf(sweep).Where(r => r.Status == RunStatus.Completed)
            .Select(r => new MeasuredRun(r.RunId, r.Config, r.ResultsEpoch!.Value, r.ResultsSha256))],
        Datasets = [.. Sweeps[sweep].DatasetIds.Select(d => new PreparedDatasetRecord(Datasets[d].Config, Datasets[d].Fingerprint))],
        Measure = Sweeps[sweep].Measure,
    };

    public bool AllRunsEnded(string sweep) => Sweeps.TryGetValue(sweep, out var s) && s.AllRunsEnded;

    /// <summary>The sweep's measurement job, once all its runs ended.</summary>
    public JobInfo? MeasureJob(string sweep) => Jobs.GetValueOrDefault(MeasureJobId(sweep));

    public bool Finished(string sweep) => MeasureJob(sweep) is { Status: JobStatus.Done or JobStatus.Failed };

    /// <summary>Every lease held now: (run or job id, lease).</summary>
    public IEnumerable<(string Id, Lease Lease)> Leases =>
        Runs.Values.Where(r => r.HoldsLease).Select(r => (r.RunId, r.Lease!))
            .Concat(Jobs.Values.Where(j => j.HoldsLease).Select(j => (j.JobId, j.Lease!)));

    /// <summary>Slots held by leases, per node.</summary>
    public IEnumerable<SlotRef> LeasedSlots => Leases.SelectMany(l => l.Lease.Ranks);

    /// <summary>Finds a run by full id ("sweep/run") or by a suffix that matches exactly one run.</summary>
    public RunInfo? FindRun(string idOrSuffix)
    {
        if (Runs.TryGetValue(idOrSuffix, out var exact)) return exact;
        var matches = Runs.Values.Where(r => r.RunId.EndsWith("/" + idOrSuffix, StringComparison.Ordinal)).Take(2).ToList();
        return matches.Count == 1 ? matches[0] : null;
    }

    public NodeHealth HealthOf(string node) => Nodes.GetValueOrDefault(node) ?? NodeHealth.Healthy;

    // ---------------------------------------------------------------- apply

    public SweepState Apply(ISweepEvent e) => e switch
    {
        SweepSubmitted x => this with
        {
            Sweeps = Sweeps.SetItem(x.Sweep, new SweepInfo
            {
                Name = x.Sweep, ContentHash = x.ContentHash, Order = Sweeps.Count,
                RunIds = [.. x.Runs.Select(r => r.RunId)], DatasetIds = [.. x.Datasets.Select(d => d.Id)], Measure = x.Measure,
                AllowCrossNode = x.AllowCrossNode,
            }),
            Runs = Runs.SetItems(x.Runs.Select(r => KeyValuePair.Create(r.RunId, new RunInfo { Config = r }))),
            Datasets = Datasets.SetItems(x.Datasets.Where(d => !Datasets.ContainsKey(d.Id)).Select(d => KeyValuePair.Create(d.Id, new DatasetInfo(d)))),
        },
        SweepRunsAdded x => Sweep(x.Sweep, s => s with { RunIds = s.RunIds.AddRange(x.Runs.Select(r => r.RunId)) }) is var st
            ? st with { Runs = st.Runs.SetItems(x.Runs.Select(r => KeyValuePair.Create(r.RunId, new RunInfo { Config = r }))) }
            : this,
        DatasetPrepared x => this with
        {
            Datasets = Datasets.SetItem(x.DatasetId, Datasets[x.DatasetId] with { Fingerprint = new DatasetFingerprint(x.ProfilesSha256, x.TokenizerSha256) }),
        },
        JobQueued x => this with { Jobs = Jobs.SetItem(x.JobId, new JobInfo { JobId = x.JobId, Kind = x.Kind, Target = x.Target, Probe = x.Probe }) },
        JobLeased x => Job(x.JobId, j => j with { Status = JobStatus.Leased, Lease = new Lease(x.Epoch, x.NodeId, x.Slots), RetryAt = null })
            with { LastEpoch = Math.Max(LastEpoch, x.Epoch) },
        JobDone x => Healthy(Jobs[x.JobId].Lease?.NodeId).Job(x.JobId, j => j with { Status = JobStatus.Done, Lease = null, Error = x.Error }),
        JobAttemptFailed x => Failure(x.NodeId, x.JobId).Job(x.JobId, j => j with
        {
            Status = JobStatus.Queued, Lease = null, FailedAttempts = j.FailedAttempts + 1, RetryAt = x.RetryAt, Error = x.Error,
        }),
        JobFailed x => Job(x.JobId, j => j with { Status = JobStatus.Failed, Lease = null, Error = x.Error }),
        JobRequeued x => Job(x.JobId, j => j with { Status = JobStatus.Queued, Lease = null }),
        RunLeased x => Run(x.RunId, r => r with
        {
            Status = RunStatus.Leased, Lease = new Lease(x.Epoch, x.NodeId, x.Slots) { Others = x.Others ?? [] }, StopRequested = null, RetryAt = null,
        }) with { LastEpoch = Math.Max(LastEpoch, x.Epoch) },
        RunStarted x => Run(x.RunId, r => r with { Status = RunStatus.Running, Step = x.Step }),
        CheckpointRecorded x => Healthy(Runs[x.RunId].Lease?.NodeId).Run(x.RunId, r => r with
        {
            Step = Math.Max(r.Step, x.Step), Checkpoint = new CheckpointRef(x.Step, x.Epoch, x.Sha256), TrainLoss = x.TrainLoss, FailedAttempts = 0,
        }),
        RunCompleted x => Healthy(Runs[x.RunId].Lease?.NodeId).Run(x.RunId, r => r with
        {
            Status = RunStatus.Completed, Lease = null, Step = x.Step, CompletedReason = x.Reason, StopRequested = null,
            ResultsEpoch = x.Epoch, ResultsSha256 = x.ResultsSha256,
        }),
        RunAttemptFailed x => Failure(x.NodeId, x.RunId).Run(x.RunId, r => r with
        {
            Status = RunStatus.Queued, Lease = null, FailedAttempts = r.FailedAttempts + 1, RetryAt = x.RetryAt, Error = x.Error, StopRequested = null,
        }),
        RunFailed x => Run(x.RunId, r => r with { Status = RunStatus.Failed, Lease = null, Error = x.Error, StopRequested = null }),
        RunStopRequested x => Run(x.RunId, r => r with { StopRequested = x.Kind }),
        RunSuspended x => Run(x.RunId, r => r with { Status = RunStatus.Suspended, Lease = null, Step = Math.Max(r.Step, x.Step), StopRequested = null }),
        RunRequeued x => Run(x.RunId, r => r with { Status = RunStatus.Queued, Lease = null, StopRequested = null }),
        RunCancelled x => Run(x.RunId, r => r with { Status = RunStatus.Cancelled, Lease = null, StopRequested = null }),
        RunRetried x => Run(x.RunId, r => r with { Status = RunStatus.Queued, FailedAttempts = 0, RetryAt = null, Error = null }) is var st
                        && st.MeasureJob(st.Runs[x.RunId].Sweep) is { HoldsLease: false } m
            ? st with { Jobs = st.Jobs.Remove(m.JobId) }
            : st,
        JobRetried x => Job(x.JobId, j => j with { Status = JobStatus.Queued, Lease = null, FailedAttempts = 0, RetryAt = null, Error = null }),
        SweepPaused x => Sweep(x.Sweep, s => s with { Paused = true }),
        SweepResumed x => Sweep(x.Sweep, s => s with { Paused = false }),
        SweepStopped x => Sweep(x.Sweep, s => s with { Stopped = true }) with
        {
            Runs = Runs.SetItems(RunsOf(x.Sweep).Where(r => r.HoldsLease).Select(r => KeyValuePair.Create(r.RunId, r with { FinishAfterStop = true }))),
        },
        SweepCancelled x => Sweep(x.Sweep, s => s with { Cancelled = true }),
        NodeQuarantined x => this with { Nodes = Nodes.SetItem(x.NodeId, NodeHealth.Healthy with { QuarantinedUntil = x.Until }) },
        _ => throw new ArgumentException($"unknown event {e.GetType().Name}"),
    };

    public SweepState ApplyAll(IEnumerable<ISweepEvent> events) => events.Aggregate(this, (s, e) => s.Apply(e));

    /// <summary>Updates a run, keeping its sweep's count of ended runs.</summary>
    SweepState Run(string id, Func<RunInfo, RunInfo> f)
    {
        var before = Runs[id];
        var after = f(before);
        var state = this with { Runs = Runs.SetItem(id, after) };
        if (before.IsTerminal == after.IsTerminal) return state;
        return state.Sweep(after.Sweep, s => s with { EndedRuns = s.EndedRuns + (after.IsTerminal ? 1 : -1) });
    }

    SweepState Job(string id, Func<JobInfo, JobInfo> f) => this with { Jobs = Jobs.SetItem(id, f(Jobs[id])) };
    SweepState Sweep(string name, Func<SweepInfo, SweepInfo> f) => this with { Sweeps = Sweeps.SetItem(name, f(Sweeps[name])) };

    SweepState Failure(string node, string target)
    {
        var h = HealthOf(node);
        return this with { Nodes = Nodes.SetItem(node, h with { Failures = h.Failures + 1, FailedTargets = h.FailedTargets.Add(target) }) };
    }

    SweepState Healthy(string? node) =>
        node is null || !Nodes.TryGetValue(node, out var h) || h.Failures == 0 ? this : this with { Nodes = Nodes.SetItem(node, h with { Failures = 0, FailedTargets = h.FailedTargets.Clear() }) };

    // ---------------------------------------------------------------- decide

    public Decision Decide(ISweepCommand command, SchedulingPolicy? policy = null)
    {
        var decision = DecideOnly(command, policy ?? SchedulingPolicy.Default);
        return decision.Rejected || decision.Events.IsEmpty ? decision : WithMeasureJobs(decision);
    }

    Decision DecideOnly(ISweepCommand command, SchedulingPolicy policy) => command switch
    {
        SubmitSweep c => Submit(c.Plan),
        ScheduleLeases c => Schedule(c),
        ReportRunStarted c => FencedRun(c.RunId, c.Epoch, c.NodeId, r => Decision.Of(new RunStarted(c.RunId, c.Epoch, c.Step))),
        ReportCheckpoint c => FencedRun(c.RunId, c.Epoch, c.NodeId, r => c.Step < (r.Checkpoint?.Step ?? 0)
            ? Decision.Reject($"checkpoint at step {c.Step} is older than the recorded one at {r.Checkpoint!.Step}")
            : Decision.Of(new CheckpointRecorded(c.RunId, c.Epoch, c.Step, c.Sha256, c.TrainLoss))),
        ReportRunCompleted c => FencedRun(c.RunId, c.Epoch, c.NodeId, _ => Decision.Of(new RunCompleted(c.RunId, c.Epoch, c.Step, c.Reason, c.ResultsSha256))),
        ReportRunFailed c => FencedRun(c.RunId, c.Epoch, c.NodeId, r => RunAttemptFailed(r, c, policy)),
        ReportRunStopped c => FencedRun(c.RunId, c.Epoch, c.NodeId, r => Decision.Of(c.Kind == StopKind.Cancel || Sweeps[r.Sweep].Cancelled
            ? new RunCancelled(r.RunId)
            : new RunSuspended(r.RunId, c.Epoch, c.Step))),
        ReportJobDone c => FencedJob(c.JobId, c.Epoch, c.NodeId, j => JobDone(j, c)),
        ReportJobFailed c => FencedJob(c.JobId, c.Epoch, c.NodeId, j => JobAttemptFailed(j, c, policy)),
        LeaseLost c => Runs.ContainsKey(c.Id)
            ? FencedRun(c.Id, c.Epoch, null, r => Decision.Of(RunLeaseLost(r, c)))
            : FencedJob(c.Id, c.Epoch, null, j => Decision.Of(new JobRequeued(j.JobId, c.Reason))),
        PauseSweep c => ForSweeps(c.Sweep, s => s.Halted ? [] : [new SweepPaused(s.Name)]),
        ResumeSweep c => ForSweeps(c.Sweep, s => s.Paused ? [new SweepResumed(s.Name)] : []),
        StopSweep c => ForSweeps(c.Sweep, s => s.Stopped || s.Cancelled
            ? []
            : RunsOf(s.Name).Where(r => r.Status is RunStatus.Queued or RunStatus.Suspended)
                .Select(r => (ISweepEvent)new RunCancelled(r.RunId)).Prepend(new SweepStopped(s.Name))),
        CancelSweep c => ForSweeps(c.Sweep, s => s.Cancelled ? [] : CancelAll(s)),
        SuspendRun c => WithRun(c.RunId, r => r.HoldsLease
            ? r.StopRequested != null ? Decision.Reject($"run {r.RunId} is already stopping") : Decision.Of(new RunStopRequested(r.RunId, r.Lease!.Epoch, StopKind.Suspend))
            : Decision.Reject($"run {r.RunId} is {r.Status}, not running")),
        ResumeRun c => WithRun(c.RunId, r => r.Status == RunStatus.Suspended
            ? Sweeps[r.Sweep].Cancelled || (Sweeps[r.Sweep].Stopped && !r.FinishAfterStop)
                ? Decision.Reject($"sweep {r.Sweep} is stopped; its runs cannot be resumed")
                : Decision.Of(new RunRequeued(r.RunId, "resumed"))
            : Decision.Reject($"run {r.RunId} is {r.Status}, not suspended")),
        RetryFailed c => Retry(c.Target),
        SubmitProbe c => WithRun(c.RunId, r => r.Status == RunStatus.Completed
            ? Decision.Of(new JobQueued($"probe:{r.RunId}:{Jobs.Keys.Count(k => k.StartsWith($"probe:{r.RunId}:", StringComparison.Ordinal)) + 1}",
                JobKind.Probe, r.RunId, c.Request))
            : Decision.Reject($"run {r.RunId} is {r.Status.ToString().ToLowerInvariant()}; only a completed run is probed")),
        _ => Decision.Reject($"unknown command {command.GetType().Name}"),
    };

    /// <summary>A sweep whose runs have all ended gets its measurement job (once).</summary>
    Decision WithMeasureJobs(Decision d)
    {
        var after = ApplyAll(d.Events);
        var touched = d.Events.Select(e => e switch
        {
            RunCompleted x => x.RunId, RunFailed x => x.RunId, RunCancelled x => x.RunId, _ => null,
        }).Where(id => id != null).Select(id => Runs[id!].Sweep).Distinct(StringComparer.Ordinal);
        var measure = touched.Where(s => after.AllRunsEnded(s) && after.MeasureJob(s) == null)
            .Select(s => (ISweepEvent)new JobQueued(MeasureJobId(s), JobKind.Measure, s)).ToList();
        return measure.Count == 0 ? d : Decision.Of(d.Events.Concat(measure));
    }

    Decision Submit(Sweeps.SweepPlan plan)
    {
        if (Sweeps.TryGetValue(plan.Name, out var existing))
            return existing.ContentHash == plan.ContentHash
                // a finished sweep submitted again is measured again from its runs' accepted eval results (their
                // SHA-256 checked), so results files deleted or damaged since come back or are named; nothing retrains
                ? MeasureJob(plan.Name) is { Status: JobStatus.Done } ? Decision.Of(new JobRetried(MeasureJobId(plan.Name))) : Decision.None
                : Decision.Reject($"a different sweep named '{plan.Name}' was already submitted (content {existing.ContentHash}, this one {plan.ContentHash}); rename it");
        if (Confinement(plan) is { } escape) return Decision.Reject(escape);
        var clash = plan.Runs.FirstOrDefault(r => Runs.ContainsKey(r.RunId));
        if (clash != null) return Decision.Reject($"run id '{clash.RunId}' already exists");
        var chunks = plan.Runs.Chunk(RunsPerEvent).Select(c => c.ToImmutableArray()).ToList();
        var events = new List<ISweepEvent> { new SweepSubmitted(plan.Name, plan.ContentHash, plan.Datasets, chunks.FirstOrDefault(ImmutableArray<RunConfig>.Empty),
            plan.Measure.IsDefault ? null : plan.Measure, plan.AllowCrossNode) };
        events.AddRange(chunks.Skip(1).Select(c => new SweepRunsAdded(plan.Name, c)));
        events.AddRange(plan.Datasets.Where(d => !Jobs.ContainsKey(DatasetJobId(d.Id)) || Jobs[DatasetJobId(d.Id)].Status == JobStatus.Failed)
            .Select(d => new JobQueued(DatasetJobId(d.Id), JobKind.PrepareDataset, d.Id)));
        return Decision.Of(events);
    }

    /// <summary>
    /// A plan builds paths from its names: every name must be one safe path segment and every run the sweep's own,
    /// with no file paths of its own (sweep runs get their data by content id). Checked here, before anything is
    /// journalled, because a plan can also arrive as a message that never went through the sweep-file checks.
    /// </summary>
    static string? Confinement(Sweeps.SweepPlan plan)
    {
        try
        {
            RunStorage.CheckName(plan.Name, "sweep");
            foreach (var r in plan.Runs)
            {
                if (r.Sweep != plan.Name) return $"run {r.RunName} says it belongs to sweep '{r.Sweep}', not '{plan.Name}'";
                RunStorage.ParseRunId(r.RunId);
                if (r.Profiles != null || r.Tokenizer != null) return $"run {r.RunId} names its own profiles or tokenizer files; sweep runs use their dataset by content id";
                if (r.Dataset is null || !plan.Datasets.Any(d => d.Id == r.Dataset.Id)) return $"run {r.RunId} has no dataset of this sweep";
            }
            return null;
        }
        catch (Model.Common.UserInputException e)
        {
            return e.Message;
        }
    }

    Decision Schedule(ScheduleLeases c)
    {
        var taken = LeasedSlots.ToHashSet();
        var free = c.FreeSlots.Where(s => !taken.Contains(s) && !HealthOf(s.NodeId).QuarantinedAt(c.Now))
            .GroupBy(s => s.NodeId).ToDictionary(g => g.Key, g => new SortedSet<int>(g.Select(s => s.Slot)));
        var events = new List<ISweepEvent>();
        var epoch = LastEpoch;

        ImmutableArray<int>? Take(int k, out string node)
        {
            var n = free.FirstOrDefault(x => x.Value.Count >= k);
            node = n.Key;
            if (n.Key == null) return null;
            var slots = n.Value.Take(k).ToImmutableArray();
            foreach (var s in slots) n.Value.Remove(s);
            if (n.Value.Count == 0) free.Remove(n.Key);
            return slots;
        }

        // jobs first (runs wait for their datasets; measurement and probes are short), by kind, then id
        foreach (var job in Jobs.Values.Where(j => j.Status == JobStatus.Queued && !(j.RetryAt > c.Now)).OrderBy(j => j.Kind))
        {
            if (free.Count == 0) break;
            if (Take(1, out var node) is { } slots) events.Add(new JobLeased(job.JobId, ++epoch, node, slots));
        }
        foreach (var sweep in SweepsInOrder.Where(s => !s.Paused && !s.Cancelled && !s.AllRunsEnded))
        foreach (var run in RunsOf(sweep.Name))
        {
            if (free.Count == 0) return Decision.Of(events);
            if (run.Status != RunStatus.Queued || run.RetryAt > c.Now) continue;
            if (sweep.Stopped && !run.FinishAfterStop) continue;
            if (Datasets[run.Config.Dataset!.Id] is not { Prepared: true }) continue;
            if (Take(run.Config.DataParallel, out var node) is { } slots) events.Add(new RunLeased(run.RunId, ++epoch, node, slots));
            else if (sweep.AllowCrossNode && run.Config.DataParallel > 1 && TakeAcross(run.Config.DataParallel) is { } ranks)
                events.Add(new RunLeased(run.RunId, ++epoch, ranks[0].NodeId, [.. ranks.TakeWhile(r => r.NodeId == ranks[0].NodeId).Select(r => r.Slot)],
                    [.. ranks.SkipWhile(r => r.NodeId == ranks[0].NodeId)]));
        }
        return Decision.Of(events);

        // a run that no one node can hold: the fewest nodes with a data plane, most free slots first (rank order)
        List<SlotRef>? TakeAcross(int k)
        {
            var nodes = free.Where(x => c.DataPlaneNodes?.Contains(x.Key) == true)
                .OrderByDescending(x => x.Value.Count).ThenBy(x => x.Key, StringComparer.Ordinal).ToList();
            if (nodes.Sum(x => x.Value.Count) < k) return null;
            var ranks = new List<SlotRef>();
            foreach (var (id, slots) in nodes)
            {
                foreach (var s in slots.Take(k - ranks.Count).ToList())
                {
                    ranks.Add(new SlotRef(id, s));
                    slots.Remove(s);
                }
                if (slots.Count == 0) free.Remove(id);
                if (ranks.Count == k) break;
            }
            return ranks;
        }
    }

    /// <summary>
    /// A report about a run counts only if it comes from the current lease: same epoch, lease held, and from the
    /// node the lease was given to (<paramref name="node"/> null: the coordinator's own finding, e.g. a lost lease).
    /// </summary>
    Decision FencedRun(string runId, long epoch, string? node, Func<RunInfo, Decision> decide)
    {
        if (!Runs.TryGetValue(runId, out var run)) return Decision.Reject($"unknown run '{runId}'");
        if (!run.HoldsLease || run.Lease!.Epoch != epoch)
            return Decision.Reject(
                $"stale lease: run {runId} epoch {epoch} is not the current lease ({(run.HoldsLease ? $"epoch {run.Lease!.Epoch}" : run.Status.ToString())})");
        if (node != null && node != run.Lease.NodeId)
            return Decision.Reject($"stale lease: run {runId} epoch {epoch} is held by {run.Lease.NodeId}, not {node}");
        return decide(run);
    }

    Decision FencedJob(string jobId, long epoch, string? node, Func<JobInfo, Decision> decide)
    {
        if (!Jobs.TryGetValue(jobId, out var job)) return Decision.Reject($"unknown job '{jobId}'");
        if (!job.HoldsLease || job.Lease!.Epoch != epoch)
            return Decision.Reject($"stale lease: job {jobId} epoch {epoch} is not the current lease ({(job.HoldsLease ? $"epoch {job.Lease!.Epoch}" : job.Status.ToString())})");
        if (node != null && node != job.Lease.NodeId)
            return Decision.Reject($"stale lease: job {jobId} epoch {epoch} is held by {job.Lease.NodeId}, not {node}");
        return decide(job);
    }

    bool StartsNothing(RunInfo r) => Sweeps[r.Sweep].Cancelled || (Sweeps[r.Sweep].Stopped && !r.FinishAfterStop) || r.StopRequested == StopKind.Cancel;

    ISweepEvent RunLeaseLost(RunInfo r, LeaseLost c) =>
        StartsNothing(r)
            ? new RunCancelled(r.RunId)
            : r.StopRequested == StopKind.Suspend
                ? new RunSuspended(r.RunId, c.Epoch, r.Checkpoint?.Step ?? 0)
                : new RunRequeued(r.RunId, $"lease {c.Epoch} on {r.Lease!.NodeId} lost: {c.Reason}");

    /// <summary>
    /// A failed attempt counts against the run, unless the node is what keeps failing: several different runs or
    /// jobs failed there in a row while other nodes could take the work, so the node is quarantined and the run
    /// goes back to the queue as it was. With no other node, failures count against the runs (a poison sweep
    /// ends instead of waiting for a node that does not exist).
    /// </summary>
    Decision RunAttemptFailed(RunInfo run, ReportRunFailed c, SchedulingPolicy policy)
    {
        if (StartsNothing(run)) return Decision.Of(new RunCancelled(run.RunId));
        if (c.OtherNodes > 0 && Quarantine(c.NodeId, run.RunId, c.Error, c.Now, policy) is { } q)
            return Decision.Of(q, new RunRequeued(run.RunId, $"node {c.NodeId} quarantined"));
        var attempts = run.FailedAttempts + 1;
        if (attempts >= policy.MaxAttempts)
            return Decision.Of(new RunFailed(run.RunId, $"failed {attempts} times in a row; last: {c.Error}"));
        return Decision.Of(new RunAttemptFailed(run.RunId, c.Epoch, c.NodeId, c.Error, c.Now + policy.Backoff(attempts)));
    }

    Decision JobAttemptFailed(JobInfo job, ReportJobFailed c, SchedulingPolicy policy)
    {
        if (c.OtherNodes > 0 && Quarantine(c.NodeId, job.JobId, c.Error, c.Now, policy) is { } q)
            return Decision.Of(q, new JobRequeued(job.JobId, $"node {c.NodeId} quarantined"));
        var attempts = job.FailedAttempts + 1;
        if (attempts < policy.MaxAttempts)
            return Decision.Of(new JobAttemptFailed(job.JobId, c.Epoch, c.NodeId, c.Error, c.Now + policy.Backoff(attempts)));
        var error = $"failed {attempts} times in a row; last: {c.Error}";
        var events = new List<ISweepEvent> { new JobFailed(job.JobId, error) };
        // runs that wait for a dataset that cannot be made fail with it
        if (job.Kind == JobKind.PrepareDataset)
            events.AddRange(Runs.Values.Where(r => r.Config.Dataset?.Id == job.Target && r.Status == RunStatus.Queued)
                .Select(r => new RunFailed(r.RunId, $"dataset {Datasets[job.Target].Config.Name}: {error}")));
        return Decision.Of(events);
    }

    NodeQuarantined? Quarantine(string node, string target, string error, DateTimeOffset now, SchedulingPolicy policy)
    {
        var h = HealthOf(node);
        var targets = h.FailedTargets.Add(target);
        if (h.Failures + 1 < policy.QuarantineAfter || targets.Count < 2) return null;
        return new NodeQuarantined(node, now + policy.QuarantineFor,
            $"{h.Failures + 1} failures in a row of {targets.Count} different runs or jobs; last: {error}");
    }

    Decision JobDone(JobInfo job, ReportJobDone c)
    {
        if (job.Kind != JobKind.PrepareDataset) return Decision.Of(new JobDone(job.JobId, c.Epoch, c.Error));
        if (c.Dataset is not { } f) return Decision.Reject($"job {job.JobId}: a prepared dataset needs its fingerprint");
        var events = new List<ISweepEvent> { new JobDone(job.JobId, c.Epoch, null) };
        if (Datasets[job.Target].Fingerprint is null) events.Add(new DatasetPrepared(job.Target, f.ProfilesSha256, f.TokenizerSha256));
        return Decision.Of(events);
    }

    Decision Retry(string? target)
    {
        IEnumerable<RunInfo> runs;
        IEnumerable<SweepInfo> sweeps;
        if (target is null) sweeps = SweepsInOrder.Where(s => !s.Cancelled);
        else if (Sweeps.TryGetValue(target, out var named))
        {
            if (named.Cancelled) return Decision.Reject($"sweep {target} was cancelled; its runs are not retried");
            sweeps = [named];
        }
        else
        {
            var run = FindRun(target);
            if (run is null) return Decision.Reject($"unknown run or sweep '{target}'");
            if (run.Status != RunStatus.Failed) return Decision.Reject($"run {run.RunId} is {run.Status.ToString().ToLowerInvariant()}, not failed");
            if (Sweeps[run.Sweep].Cancelled) return Decision.Reject($"sweep {run.Sweep} was cancelled; its runs are not retried");
            return Decision.Of(RetryDatasets([run]).Append(new RunRetried(run.RunId)));
        }
        var list = sweeps.ToList();
        runs = list.SelectMany(s => RunsOf(s.Name)).Where(r => r.Status == RunStatus.Failed).ToList();
        var events = RetryDatasets(runs).Concat(runs.Select(r => (ISweepEvent)new RunRetried(r.RunId))).ToList();
        // a measurement that failed with every run fine (a full disk while writing tables) is made again at once
        events.AddRange(list.Where(s => !runs.Any(r => r.Sweep == s.Name) && MeasureJob(s.Name) is { Status: JobStatus.Failed })
            .Select(s => new JobRetried(MeasureJobId(s.Name))));
        return Decision.Of(events);
    }

    /// <summary>Failed dataset jobs the retried runs wait for are queued again first.</summary>
    IEnumerable<ISweepEvent> RetryDatasets(IEnumerable<RunInfo> runs) =>
        runs.Select(r => r.Config.Dataset?.Id).OfType<string>().Distinct(StringComparer.Ordinal)
            .Where(d => Jobs.TryGetValue(DatasetJobId(d), out var j) && j.Status == JobStatus.Failed)
            .Select(d => new JobRetried(DatasetJobId(d)));

    IEnumerable<ISweepEvent> CancelAll(SweepInfo s)
    {
        yield return new SweepCancelled(s.Name);
        foreach (var r in RunsOf(s.Name))
        {
            if (r.Status is RunStatus.Queued or RunStatus.Suspended) yield return new RunCancelled(r.RunId);
            else if (r.HoldsLease && r.StopRequested != StopKind.Cancel) yield return new RunStopRequested(r.RunId, r.Lease!.Epoch, StopKind.Cancel);
        }
    }

    Decision ForSweeps(string? sweep, Func<SweepInfo, IEnumerable<ISweepEvent>> f)
    {
        if (sweep != null)
            return Sweeps.TryGetValue(sweep, out var s) ? Decision.Of(f(s)) : Decision.Reject($"unknown sweep '{sweep}'");
        return Decision.Of(SweepsInOrder.Where(s => !Finished(s.Name)).SelectMany(f));
    }

    Decision WithRun(string idOrSuffix, Func<RunInfo, Decision> f) =>
        FindRun(idOrSuffix) is { } run ? f(run) : Decision.Reject($"unknown run '{idOrSuffix}'");
}
