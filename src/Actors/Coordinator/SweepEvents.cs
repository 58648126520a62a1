using System.Collections.Immutable;
using ActorLab.Actors.Serialization;
using ActorLab.Model.Profiles;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Coordinator;

/// <summary>
/// What happened to the sweeps: the journal's records (versioned in <see cref="MessageRegistry"/>), persisted by
/// <see cref="SweepCoordinator"/> and folded by <see cref="SweepState.Apply"/>. They carry logical ids only
/// (run id "sweep/run", dataset content id, job id, checkpoint step + epoch + SHA-256), never a machine's path.
/// </summary>
public interface ISweepEvent : IActorLabMessage;

/// <summary>
/// A sweep was accepted: its datasets and runs, in full (recovery never needs the sweep file). A large grid's runs
/// come in chunks: the first <see cref="SweepState.RunsPerEvent"/> here, the rest in <see cref="SweepRunsAdded"/>
/// events of the same atomic write, so no journal row grows with the grid.
/// </summary>
/// <remarks><see cref="Measure"/> is optional: events journalled before it existed read as null, the default measure.</remarks>
public sealed record SweepSubmitted(string Sweep, string ContentHash, ImmutableArray<DatasetConfig> Datasets, ImmutableArray<RunConfig> Runs,
    Sweeps.SweepMeasure? Measure = null, bool AllowCrossNode = false) : ISweepEvent;

/// <summary>More runs of a sweep just submitted (the chunks after the first, in the same write).</summary>
public sealed record SweepRunsAdded(string Sweep, ImmutableArray<RunConfig> Runs) : ISweepEvent;

/// <summary>A dataset was built for the first time; every node that rebuilds it must arrive at these hashes.</summary>
public sealed record DatasetPrepared(string DatasetId, string ProfilesSha256, string TokenizerSha256) : ISweepEvent;

public enum JobKind { PrepareDataset, Measure, Probe }

/// <summary>A job other than training was queued: prepare a dataset, measure a sweep's capacity, probe a run.</summary>
public sealed record JobQueued(string JobId, JobKind Kind, string Target, ProbeRequest? Probe = null) : ISweepEvent;

/// <summary>A job got a slot on a node under a new epoch.</summary>
public sealed record JobLeased(string JobId, long Epoch, string NodeId, ImmutableArray<int> Slots) : ISweepEvent;

/// <summary>The job's lease holder finished it; <see cref="Error"/> is a result that says why nothing came out (e.g. no run completed to measure).</summary>
public sealed record JobDone(string JobId, long Epoch, string? Error) : ISweepEvent;

/// <summary>One attempt failed (the job is queued again not before <see cref="RetryAt"/>), or, with no retry left, for good.</summary>
public sealed record JobAttemptFailed(string JobId, long Epoch, string NodeId, string Error, DateTimeOffset RetryAt) : ISweepEvent;

public sealed record JobFailed(string JobId, string Error) : ISweepEvent;

/// <summary>A lease of a job ended without a result (its node left): back to the queue.</summary>
public sealed record JobRequeued(string JobId, string Reason) : ISweepEvent;

/// <summary>A run got slots on a node under a new epoch; older epochs of this run are now stale (fencing).</summary>
/// <summary>A run leased to slots of a node; a cross-node run's further ranks are on <see cref="Others"/> (null: none, as before cross-node runs).</summary>
public sealed record RunLeased(string RunId, long Epoch, string NodeId, ImmutableArray<int> Slots, ImmutableArray<SlotRef>? Others = null) : ISweepEvent;

/// <summary>The trainer holding the lease started (or resumed) the run at <see cref="Step"/>.</summary>
public sealed record RunStarted(string RunId, long Epoch, long Step) : ISweepEvent;

/// <summary>A checkpoint written under this lease: the only one a later lease may resume from.</summary>
public sealed record CheckpointRecorded(string RunId, long Epoch, long Step, string Sha256, double TrainLoss) : ISweepEvent;

/// <summary>The run ended; its eval results are this epoch's files, with this SHA-256.</summary>
public sealed record RunCompleted(string RunId, long Epoch, long Step, string Reason, string? ResultsSha256) : ISweepEvent;

/// <summary>One attempt failed on a node; the run is queued again, not before <see cref="RetryAt"/>.</summary>
public sealed record RunAttemptFailed(string RunId, long Epoch, string NodeId, string Error, DateTimeOffset RetryAt) : ISweepEvent;

/// <summary>The run failed for good (a poison run, or its dataset could not be made); the sweep goes on.</summary>
public sealed record RunFailed(string RunId, string Error) : ISweepEvent;

public enum StopKind { Suspend, Cancel }

/// <summary>The coordinator asked the lease holder to stop the run (suspend: checkpoint first; cancel: now).</summary>
public sealed record RunStopRequested(string RunId, long Epoch, StopKind Kind) : ISweepEvent;

public sealed record RunSuspended(string RunId, long Epoch, long Step) : ISweepEvent;

/// <summary>Back to the queue: a lease was lost (node gone), a suspended run resumed, or its node was quarantined.</summary>
public sealed record RunRequeued(string RunId, string Reason) : ISweepEvent;

public sealed record RunCancelled(string RunId) : ISweepEvent;

/// <summary>
/// A failed run queued again by a user's retry, its failures forgotten: it resumes from its recorded checkpoint.
/// Its sweep's measurement, if done, is dropped and made again once every run has ended again.
/// </summary>
public sealed record RunRetried(string RunId) : ISweepEvent;

/// <summary>A failed job (a dataset that could not be made, a measurement) queued again by a user's retry.</summary>
public sealed record JobRetried(string JobId) : ISweepEvent;

public sealed record SweepPaused(string Sweep) : ISweepEvent;

public sealed record SweepResumed(string Sweep) : ISweepEvent;

/// <summary>No new runs; running ones finish.</summary>
public sealed record SweepStopped(string Sweep) : ISweepEvent;

/// <summary>No new runs; running ones end now.</summary>
public sealed record SweepCancelled(string Sweep) : ISweepEvent;

/// <summary>Runs kept failing on this node (several different runs in a row): no new leases there until <see cref="Until"/>.</summary>
public sealed record NodeQuarantined(string NodeId, DateTimeOffset Until, string Reason) : ISweepEvent;

/// <summary>What a probe job does: the probe sweep of one completed run's latest checkpoint.</summary>
public sealed record ProbeRequest(string Layers, int Samples);
