using System.Collections.Immutable;
using ActorLab.Actors.Serialization;
using ActorLab.Actors.Sweeps;

namespace ActorLab.Actors.Coordinator;

/// <summary>What happened to the sweeps: persisted by <see cref="SweepCoordinator"/>, folded by <see cref="SweepState.Apply"/>.</summary>
public interface ISweepEvent : IActorLabMessage;

/// <summary>A sweep was accepted; all its runs are queued.</summary>
public sealed record SweepSubmitted(SweepSpec Spec) : ISweepEvent;

/// <summary>A dataset's profiles and tokenizer exist on disk (cached by content: shared by sweeps).</summary>
public sealed record DatasetPrepared(string Key, string ProfilesPath, string TokenizerPath) : ISweepEvent;

public sealed record DatasetFailed(string Key, string Error) : ISweepEvent;

/// <summary>A run got slots on a node under a new epoch; older epochs of this run are now stale (fencing).</summary>
public sealed record RunLeased(string RunId, long Epoch, string NodeId, ImmutableArray<int> Slots) : ISweepEvent;

/// <summary>The trainer holding the lease started (or resumed) the run at <see cref="Step"/>.</summary>
public sealed record RunStarted(string RunId, long Epoch, long Step) : ISweepEvent;

public sealed record CheckpointRecorded(string RunId, long Epoch, long Step, string Path, double TrainLoss) : ISweepEvent;

public sealed record RunCompleted(string RunId, long Epoch, long Step, string Reason) : ISweepEvent;

/// <summary>One attempt failed; the run is queued again, not before <see cref="RetryAt"/>.</summary>
public sealed record RunAttemptFailed(string RunId, long Epoch, string Error, DateTimeOffset RetryAt) : ISweepEvent;

/// <summary>The run failed for good (a poison run, or its dataset could not be made); the sweep goes on.</summary>
public sealed record RunFailed(string RunId, string Error) : ISweepEvent;

public enum StopKind { Suspend, Cancel }

/// <summary>The coordinator asked the lease holder to stop the run (suspend: checkpoint first; cancel: now).</summary>
public sealed record RunStopRequested(string RunId, long Epoch, StopKind Kind) : ISweepEvent;

public sealed record RunSuspended(string RunId, long Epoch, long Step) : ISweepEvent;

/// <summary>Back to the queue: a lease was lost (node gone, process restarted) or a suspended run was resumed.</summary>
public sealed record RunRequeued(string RunId, string Reason) : ISweepEvent;

public sealed record RunCancelled(string RunId) : ISweepEvent;

public sealed record SweepPaused(string Sweep) : ISweepEvent;

public sealed record SweepResumed(string Sweep) : ISweepEvent;

/// <summary>No new runs; running ones finish.</summary>
public sealed record SweepStopped(string Sweep) : ISweepEvent;

/// <summary>No new runs; running ones end now.</summary>
public sealed record SweepCancelled(string Sweep) : ISweepEvent;

/// <summary>All runs ended and the capacity tables and plots were written (or <see cref="Error"/> says why not).</summary>
public sealed record CapacityMeasured(string Sweep, string OutputDir, string? Error) : ISweepEvent;
