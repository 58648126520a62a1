using ActorLab.Model.Qa;

namespace ActorLab.Actors.Training;

// Node-local messages between a trainer and its data generator (they never cross the wire).

/// <summary>Trainer to data generator: demand for this many more batches (the trainer pulls).</summary>
public sealed record BatchRequest(int Count);

/// <summary>Data generator to trainer: the batch at this position of the run's stream.</summary>
public sealed record BatchReady(long Index, TokenBatch Batch);
