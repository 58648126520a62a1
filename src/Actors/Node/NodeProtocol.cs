using System.Collections.Immutable;
using System.Text.Json.Serialization;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Serialization;
using ActorLab.Model.Profiles;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Node;

// ------------------------------------------------------------------ node -> coordinator (through the singleton proxy)

/// <summary>A lease a node is working on.</summary>
public sealed record LeaseHeld(string Id, long Epoch);

/// <summary>
/// A node announces its slots and every lease it holds, on joining and whenever a coordinator (re)starts; the
/// coordinator answers <see cref="NodeRegistered"/>. <see cref="LastEpochSeen"/> is the highest lease epoch the node
/// has received: a lease recorded for the node at or below it but missing from <see cref="Leases"/> is lost.
/// </summary>
public sealed record RegisterNode(string NodeId, int Slots, string Device, int SlotsPerDevice, ImmutableArray<LeaseHeld> Leases, long LastEpochSeen,
    DataPlaneEndpoint? DataPlane = null) : IActorLabMessage;

/// <summary>Where a node's data plane listens (null on a node without one: it takes no rank of a cross-node run).</summary>
public sealed record DataPlaneEndpoint(string Host, int Port);

/// <summary>The node got a start message for this lease (sent again until acknowledged).</summary>
public sealed record LeaseAccepted(string Id, long Epoch) : IActorLabMessage;

/// <summary>
/// A report about a lease that must arrive: the node keeps it in an outbox and sends it again until the coordinator
/// answers <see cref="ReportAck"/> with its <see cref="Seq"/> (set by the node agent). Handling one twice is harmless:
/// a repeated report is either the same fact again or stale.
/// </summary>
public interface INodeReport : IActorLabMessage
{
    string Id { get; }
    long Epoch { get; }
    long Seq { get; init; }
    /// <summary>This report numbered for the outbox.</summary>
    INodeReport Numbered(long seq);
}

public sealed record ReportAck(long Seq) : IActorLabMessage;

public sealed record RunStartedReport(string RunId, long Epoch, long Step) : INodeReport
{
    [JsonIgnore] public string Id => RunId;
    public long Seq { get; init; }
    public INodeReport Numbered(long seq) => this with { Seq = seq };
}

public sealed record CheckpointReport(string RunId, long Epoch, long Step, string Sha256, double TrainLoss) : INodeReport
{
    [JsonIgnore] public string Id => RunId;
    public long Seq { get; init; }
    public INodeReport Numbered(long seq) => this with { Seq = seq };
}

public sealed record RunCompletedReport(string RunId, long Epoch, long Step, string Reason, string? ResultsSha256) : INodeReport
{
    [JsonIgnore] public string Id => RunId;
    public long Seq { get; init; }
    public INodeReport Numbered(long seq) => this with { Seq = seq };
}

public sealed record RunFailedReport(string RunId, long Epoch, string Error) : INodeReport
{
    [JsonIgnore] public string Id => RunId;
    public long Seq { get; init; }
    public INodeReport Numbered(long seq) => this with { Seq = seq };
}

public sealed record RunStoppedReport(string RunId, long Epoch, long Step, StopKind Kind) : INodeReport
{
    [JsonIgnore] public string Id => RunId;
    public long Seq { get; init; }
    public INodeReport Numbered(long seq) => this with { Seq = seq };
}

/// <summary>Live training progress (not journalled): the coordinator keeps the latest and publishes it to watchers.</summary>
public sealed record RunProgress(string RunId, long Epoch, long Step, double Loss, double StepsPerSecond) : IActorLabMessage;

/// <summary>Eval losses per mode at a step (nats per question), as written to the run's eval results.</summary>
public sealed record RunEvaluated(string RunId, long Epoch, long Step, ImmutableSortedDictionary<string, double> Losses) : IActorLabMessage;

/// <summary>A job's lease holder finished it (<see cref="Error"/>: nothing came out, and why).</summary>
public sealed record JobDoneReport(string JobId, long Epoch, string? Error, DatasetFingerprint? Dataset) : INodeReport
{
    [JsonIgnore] public string Id => JobId;
    public long Seq { get; init; }
    public INodeReport Numbered(long seq) => this with { Seq = seq };
}

public sealed record JobFailedReport(string JobId, long Epoch, string Error) : INodeReport
{
    [JsonIgnore] public string Id => JobId;
    public long Seq { get; init; }
    public INodeReport Numbered(long seq) => this with { Seq = seq };
}

// ------------------------------------------------------------------ coordinator -> node

public sealed record NodeRegistered(string NodeId) : IActorLabMessage;

/// <summary>
/// Train this run on these slots under this epoch, from exactly this checkpoint (or fresh). A cross-node run's
/// start also says which ranks these slots are (<see cref="FirstRank"/> on, of <see cref="Ranks"/>) and gives the
/// ring of node leaders its gradients go through.
/// </summary>
public sealed record StartRun(string RunId, long Epoch, ImmutableArray<int> Slots, RunConfig Config, CheckpointRef? ResumeFrom, DatasetFingerprint Dataset)
    : IActorLabMessage
{
    public int FirstRank { get; init; }
    public int? Ranks { get; init; }
    public CrossNodeRing? Ring { get; init; }

    [JsonIgnore] public int WorldSize => Ranks ?? Slots.Length;
}

/// <summary>A cross-node run's ring (node leaders in rank order), this node's place in it, and the lease's secret.</summary>
public sealed record CrossNodeRing(ImmutableArray<DataPlane.RingMember> Members, int Position, byte[] Secret)
{
    public DataPlane.RingSpec Spec(string runId, long epoch) => new(runId, epoch, Members, Secret);
}

/// <summary>A completed run as measurement reads it: its eval results are those of this epoch, with this SHA-256.</summary>
public sealed record MeasuredRun(string RunId, RunConfig Config, long ResultsEpoch, string? ResultsSha256);

/// <summary>A dataset with the fingerprint of its first build (null: not built yet).</summary>
public sealed record PreparedDatasetRecord(DatasetConfig Config, DatasetFingerprint? Fingerprint);

/// <summary>Do this job on this slot under this epoch.</summary>
public sealed record StartJob(string JobId, long Epoch, ImmutableArray<int> Slots, JobKind Kind, JobSpec Spec) : IActorLabMessage;

/// <summary>What a job works on (one of the fields, by kind).</summary>
public sealed record JobSpec
{
    /// <summary>Prepare: the dataset, and its fingerprint if it was built before (then it must match).</summary>
    public DatasetConfig? Dataset { get; init; }
    public DatasetFingerprint? Expected { get; init; }
    /// <summary>Measure: the sweep, its completed runs and their datasets.</summary>
    public string? Sweep { get; init; }
    public ImmutableArray<MeasuredRun> Runs { get; init; } = [];
    public ImmutableArray<PreparedDatasetRecord> Datasets { get; init; } = [];
    /// <summary>Measure: how (null: the default, as for sweeps journalled before measure settings existed).</summary>
    public Sweeps.SweepMeasure? Measure { get; init; }
    /// <summary>Probe: the run, its final checkpoint, what to probe.</summary>
    public string? RunId { get; init; }
    public RunConfig? Config { get; init; }
    public CheckpointRef? Checkpoint { get; init; }
    public ProbeRequest? Probe { get; init; }
}

/// <summary>End this lease (suspend: checkpoint first; cancel: now). Also sent for a lease that is no longer current.</summary>
public sealed record StopLease(string Id, long Epoch, StopKind Kind) : IActorLabMessage;

/// <summary>Published on the nodes topic when a coordinator starts: every node registers again.</summary>
public sealed record CoordinatorUp(string Address) : IActorLabMessage;
