using System.Collections.Immutable;
using ActorLab.Actors.Control;
using ActorLab.Actors.Serialization;
using ActorLab.Actors.Sweeps;
using ActorLab.Model.Storage;

namespace ActorLab.Actors.Coordinator;

/// <summary>
/// Inputs to <see cref="SweepState.Decide"/>: requests and reports the coordinator turns into events, or rejects.
/// Reports about a lease carry its epoch (fencing) and the node they came from, as the coordinator saw the sender
/// (never as the message claims).
/// </summary>
public interface ISweepCommand;

public sealed record SubmitSweep(SweepPlan Plan) : ISweepCommand;

/// <summary>A trainer slot on a node. Slots of one lease are on one node, except a cross-node run's.</summary>
public sealed record SlotRef(string NodeId, int Slot);

/// <summary>
/// Place queued jobs and runs on free slots (the actor says which slots are up and free of other work).
/// <see cref="DataPlaneNodes"/>: the nodes that can take ranks of a cross-node run (they have a data plane).
/// </summary>
public sealed record ScheduleLeases(ImmutableArray<SlotRef> FreeSlots, DateTimeOffset Now, ImmutableHashSet<string>? DataPlaneNodes = null) : ISweepCommand;

public sealed record ReportRunStarted(string RunId, long Epoch, string NodeId, long Step) : ISweepCommand;
public sealed record ReportCheckpoint(string RunId, long Epoch, string NodeId, long Step, string Sha256, double TrainLoss) : ISweepCommand;
public sealed record ReportRunCompleted(string RunId, long Epoch, string NodeId, long Step, string Reason, string? ResultsSha256) : ISweepCommand;
/// <summary><see cref="OtherNodes"/>: healthy trainer nodes besides this one (a node is quarantined only when the work can go elsewhere).</summary>
public sealed record ReportRunFailed(string RunId, long Epoch, string NodeId, string Error, DateTimeOffset Now, int OtherNodes = 0) : ISweepCommand;
public sealed record ReportRunStopped(string RunId, long Epoch, string NodeId, long Step, StopKind Kind) : ISweepCommand;

public sealed record ReportJobDone(string JobId, long Epoch, string NodeId, string? Error, DatasetFingerprint? Dataset) : ISweepCommand;
public sealed record ReportJobFailed(string JobId, long Epoch, string NodeId, string Error, DateTimeOffset Now, int OtherNodes = 0) : ISweepCommand;

/// <summary>The holder of this lease (run or job) is gone: its node left the cluster, or no longer holds it.</summary>
public sealed record LeaseLost(string Id, long Epoch, string Reason) : ISweepCommand;

/// <summary>Sweep verbs (W&amp;B semantics). A null sweep means every sweep that is still going.</summary>
public sealed record PauseSweep(string? Sweep) : ISweepCommand, IActorLabMessage;
public sealed record ResumeSweep(string? Sweep) : ISweepCommand, IActorLabMessage;
public sealed record StopSweep(string? Sweep) : ISweepCommand, IActorLabMessage, ISlowAsk;
public sealed record CancelSweep(string? Sweep) : ISweepCommand, IActorLabMessage, ISlowAsk;

/// <summary>Checkpoint a running run now and free its slots.</summary>
public sealed record SuspendRun(string RunId) : ISweepCommand, IActorLabMessage;
/// <summary>Put a suspended run back in the queue.</summary>
public sealed record ResumeRun(string RunId) : ISweepCommand, IActorLabMessage;

/// <summary>
/// Queue failed work again after its cause is fixed (a full disk, a lost mount): a failed run by id, every failed run
/// and job of a sweep by name, or of every sweep not cancelled (null).
/// </summary>
public sealed record RetryFailed(string? Target) : ISweepCommand, IActorLabMessage, ISlowAsk;

/// <summary>Probe a completed run on a free slot (results in its folder's probes/).</summary>
public sealed record SubmitProbe(string RunId, ProbeRequest Request) : ISweepCommand, IActorLabMessage;

/// <summary>Settings of <see cref="SweepState.Decide"/>: retries, and when a node counts as broken.</summary>
public sealed record SchedulingPolicy(int MaxAttempts, TimeSpan BackoffMin, TimeSpan BackoffMax, int QuarantineAfter, TimeSpan QuarantineFor)
{
    public static readonly SchedulingPolicy Default = new(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 3, TimeSpan.FromMinutes(10));

    public TimeSpan Backoff(int failedAttempts)
    {
        var ticks = BackoffMin.Ticks * Math.Pow(2, Math.Max(0, failedAttempts - 1));
        return TimeSpan.FromTicks((long)Math.Min(ticks, BackoffMax.Ticks));
    }
}

/// <summary>The events a command produces, or why it was refused (then no events).</summary>
public sealed record Decision(ImmutableArray<ISweepEvent> Events, string? Rejection)
{
    public static Decision Reject(string why) => new(ImmutableArray<ISweepEvent>.Empty, why);
    public static Decision Of(params ISweepEvent[] events) => new([.. events], null);
    public static Decision Of(IEnumerable<ISweepEvent> events) => new([.. events], null);
    public static readonly Decision None = new(ImmutableArray<ISweepEvent>.Empty, null);
    public bool Rejected => Rejection != null;
}
