using System.Collections.Immutable;
using ActorLab.Actors.Serialization;
using ActorLab.Model.Qa;

namespace ActorLab.Actors.Training;

/// <summary>Live training progress (not persisted): forwarded to watching consoles.</summary>
public sealed record RunProgress(string RunId, long Epoch, long Step, double Loss, double StepsPerSecond) : IActorLabMessage;

/// <summary>Eval losses per mode at a step (nats per question), as written to the run's eval_results.csv.</summary>
public sealed record EvalReport(string RunId, long Epoch, long Step, ImmutableSortedDictionary<string, double> Losses) : IActorLabMessage;

/// <summary>Trainer to data generator: demand for this many more batches (the trainer pulls).</summary>
public sealed record BatchRequest(int Count) : IActorLabMessage;

/// <summary>Data generator to trainer: the batch at this position of the run's stream.</summary>
public sealed record BatchReady(long Index, TokenBatch Batch) : IActorLabMessage;
