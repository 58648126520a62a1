using System.Collections.Immutable;
using ActorLab.Actors.Sweeps;

namespace ActorLab.Actors.Coordinator;

/// <summary>
/// Inputs to <see cref="SweepState.Decide"/>: requests and reports the coordinator turns into events, or
/// rejects. Reports about a run carry the lease epoch they were made under (fencing).
/// </summary>
public interface ISweepCommand : ActorLab.Actors.Serialization.IActorLabMessage;

public sealed record SubmitSweep(SweepSpec Spec) : ISweepCommand;
public sealed record ReportDatasetPrepared(string Key, string ProfilesPath, string TokenizerPath) : ISweepCommand;
public sealed record ReportDatasetFailed(string Key, string Error) : ISweepCommand;

/// <summary>A trainer slot on a node. Slots of one run (data parallel) are on the same node.</summary>
public sealed record SlotRef(string NodeId, int Slot);

/// <summary>Place queued runs on free slots (the actor computes which slots are free).</summary>
public sealed record ScheduleRuns(ImmutableArray<SlotRef> FreeSlots, DateTimeOffset Now) : ISweepCommand;

public sealed record ReportRunStarted(string RunId, long Epoch, long Step) : ISweepCommand;
public sealed record ReportCheckpoint(string RunId, long Epoch, long Step, string Path, double TrainLoss) : ISweepCommand;
public sealed record ReportRunCompleted(string RunId, long Epoch, long Step, string Reason) : ISweepCommand;
public sealed record ReportRunFailed(string RunId, long Epoch, string Error, DateTimeOffset Now) : ISweepCommand;
public sealed record ReportRunStopped(string RunId, long Epoch, long Step, StopKind Kind) : ISweepCommand;

/// <summary>The lease holder of this epoch is gone (its node did not confirm the lease in time).</summary>
public sealed record LeaseLost(string RunId, long Epoch) : ISweepCommand;

/// <summary>Sweep verbs (W&amp;B semantics). A null sweep means every sweep that is still going.</summary>
public sealed record PauseSweep(string? Sweep) : ISweepCommand;
public sealed record ResumeSweep(string? Sweep) : ISweepCommand;
public sealed record StopSweep(string? Sweep) : ISweepCommand;
public sealed record CancelSweep(string? Sweep) : ISweepCommand;

/// <summary>Checkpoint a running run now and free its slots.</summary>
public sealed record SuspendRun(string RunId) : ISweepCommand;
/// <summary>Put a suspended run back in the queue.</summary>
public sealed record ResumeRun(string RunId) : ISweepCommand;

public sealed record ReportCapacity(string Sweep, string OutputDir, string? Error) : ISweepCommand;

/// <summary>Retry policy for failed runs (from `actorlab.coordinator`).</summary>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan BackoffMin, TimeSpan BackoffMax)
{
    public static readonly RetryPolicy Default = new(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

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
