using System.Collections.Immutable;
using ActorLab.Actors.Serialization;
using ActorLab.Model.Profiles;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Coordinator;

/// <summary>
/// A <see cref="SweepState"/> as the snapshot store keeps it: flat records of the journal's own (versioned like
/// events in <see cref="MessageRegistry"/>), so the state types can change without breaking stored snapshots.
/// </summary>
public sealed record CoordinatorSnapshot(
    ImmutableArray<CoordinatorSnapshot.Sweep> Sweeps,
    ImmutableArray<CoordinatorSnapshot.Run> Runs,
    ImmutableArray<CoordinatorSnapshot.Dataset> Datasets,
    ImmutableArray<CoordinatorSnapshot.Job> Jobs,
    ImmutableArray<CoordinatorSnapshot.Node> Nodes,
    long LastEpoch) : IActorLabMessage
{
    /// <summary>Others: a cross-node run's further ranks (absent from older snapshots).</summary>
    public sealed record LeaseRecord(long Epoch, string NodeId, ImmutableArray<int> Slots, ImmutableArray<SlotRef>? Others = null);

    public sealed record Sweep(string Name, string ContentHash, ImmutableArray<string> RunIds, ImmutableArray<string> DatasetIds, int Order,
        bool Paused, bool Stopped, bool Cancelled, Sweeps.SweepMeasure? Measure = null, bool AllowCrossNode = false); // absent from older snapshots

    public sealed record Run(RunConfig Config, string Status, LeaseRecord? Lease, long Step, long? CheckpointStep, long? CheckpointEpoch,
        string? CheckpointSha256, double? TrainLoss, int FailedAttempts, DateTimeOffset? RetryAt, string? StopRequested, string? Error,
        string? CompletedReason, long? ResultsEpoch, string? ResultsSha256, bool FinishAfterStop);

    public sealed record Dataset(DatasetConfig Config, string? ProfilesSha256, string? TokenizerSha256);

    public sealed record Job(string JobId, string Kind, string Target, ProbeRequest? Probe, string Status, LeaseRecord? Lease, int FailedAttempts,
        DateTimeOffset? RetryAt, string? Error);

    public sealed record Node(string NodeId, int Failures, ImmutableArray<string> FailedTargets, DateTimeOffset? QuarantinedUntil);

    static LeaseRecord? From(Lease? l) => l is null ? null : new(l.Epoch, l.NodeId, l.Slots, l.Others.IsEmpty ? null : l.Others);
    static Lease? To(LeaseRecord? l) => l is null ? null : new(l.Epoch, l.NodeId, l.Slots) { Others = l.Others ?? [] };
    static T Parse<T>(string s) where T : struct, Enum => Enum.Parse<T>(s);

    public static CoordinatorSnapshot From(SweepState s) => new(
        [.. s.Sweeps.Values.Select(x => new Sweep(x.Name, x.ContentHash, x.RunIds, x.DatasetIds, x.Order, x.Paused, x.Stopped, x.Cancelled, x.Measure, x.AllowCrossNode))],
        [.. s.Runs.Values.Select(r => new Run(r.Config, r.Status.ToString(), From(r.Lease), r.Step, r.Checkpoint?.Step, r.Checkpoint?.Epoch,
            r.Checkpoint?.Sha256, r.TrainLoss, r.FailedAttempts, r.RetryAt, r.StopRequested?.ToString(), r.Error, r.CompletedReason,
            r.ResultsEpoch, r.ResultsSha256, r.FinishAfterStop))],
        [.. s.Datasets.Values.Select(d => new Dataset(d.Config, d.Fingerprint?.ProfilesSha256, d.Fingerprint?.TokenizerSha256))],
        [.. s.Jobs.Values.Select(j => new Job(j.JobId, j.Kind.ToString(), j.Target, j.Probe, j.Status.ToString(), From(j.Lease), j.FailedAttempts,
            j.RetryAt, j.Error))],
        [.. s.Nodes.Select(kv => new Node(kv.Key, kv.Value.Failures, [.. kv.Value.FailedTargets], kv.Value.QuarantinedUntil))],
        s.LastEpoch);

    public SweepState ToState()
    {
        var runs = Runs.Select(r => new RunInfo
        {
            Config = r.Config, Status = Parse<RunStatus>(r.Status), Lease = To(r.Lease), Step = r.Step,
            Checkpoint = r.CheckpointStep is { } step ? new CheckpointRef(step, r.CheckpointEpoch, r.CheckpointSha256!) : null,
            TrainLoss = r.TrainLoss, FailedAttempts = r.FailedAttempts, RetryAt = r.RetryAt,
            StopRequested = r.StopRequested is null ? null : Parse<StopKind>(r.StopRequested), Error = r.Error, CompletedReason = r.CompletedReason,
            ResultsEpoch = r.ResultsEpoch, ResultsSha256 = r.ResultsSha256, FinishAfterStop = r.FinishAfterStop,
        }).ToDictionary(r => r.RunId);
        return SweepState.Empty with
        {
            Sweeps = SweepState.Empty.Sweeps.SetItems(Sweeps.Select(x => KeyValuePair.Create(x.Name, new SweepInfo
            {
                Name = x.Name, ContentHash = x.ContentHash, RunIds = x.RunIds, DatasetIds = x.DatasetIds, Order = x.Order,
                Paused = x.Paused, Stopped = x.Stopped, Cancelled = x.Cancelled, Measure = x.Measure, AllowCrossNode = x.AllowCrossNode, EndedRuns = x.RunIds.Count(id => runs[id].IsTerminal),
            }))),
            Runs = SweepState.Empty.Runs.SetItems(runs),
            Datasets = SweepState.Empty.Datasets.SetItems(Datasets.Select(d => KeyValuePair.Create(d.Config.Id,
                new DatasetInfo(d.Config, d.ProfilesSha256 is null ? null : new DatasetFingerprint(d.ProfilesSha256, d.TokenizerSha256!))))),
            Jobs = SweepState.Empty.Jobs.SetItems(Jobs.Select(j => KeyValuePair.Create(j.JobId, new JobInfo
            {
                JobId = j.JobId, Kind = Parse<JobKind>(j.Kind), Target = j.Target, Probe = j.Probe, Status = Parse<JobStatus>(j.Status),
                Lease = To(j.Lease), FailedAttempts = j.FailedAttempts, RetryAt = j.RetryAt, Error = j.Error,
            }))),
            Nodes = SweepState.Empty.Nodes.SetItems(Nodes.Select(n => KeyValuePair.Create(n.NodeId,
                new NodeHealth(n.Failures, ImmutableSortedSet.CreateRange(StringComparer.Ordinal, n.FailedTargets), n.QuarantinedUntil)))),
            LastEpoch = LastEpoch,
        };
    }
}
