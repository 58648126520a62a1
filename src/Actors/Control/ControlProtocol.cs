using System.Collections.Immutable;
using Akka.Actor;
using ActorLab.Actors.Serialization;

namespace ActorLab.Actors.Control;

/// <summary>Console to node. Sweep verbs reuse the coordinator's commands (PauseSweep, SuspendRun, ...).</summary>
public sealed record GetStatus() : IActorLabMessage;

public sealed record SweepSummary(
    string Name, string Status, int Runs, int Queued, int Running, int Suspended, int Completed, int Failed, int Cancelled,
    string? CapacityDir, string? CapacityError);

public sealed record NodeSummary(string NodeId, string Device, int Slots, int Busy, double LastSeenSecondsAgo);

public sealed record StatusReply(ImmutableArray<SweepSummary> Sweeps, ImmutableArray<NodeSummary> Nodes, string DataDir) : IActorLabMessage;

public sealed record GetRuns(string? Sweep) : IActorLabMessage;

public sealed record RunSummary(
    string RunId, string Status, long Step, long CheckpointStep, double? TrainLoss, string? Node, long? Epoch, int FailedAttempts, string? Error);

public sealed record RunsReply(ImmutableArray<RunSummary> Runs) : IActorLabMessage;

/// <summary>Submit a sweep file's text; the node validates and plans it exactly as `sweep run` would.</summary>
public sealed record SubmitSweepFile(string Source, string Text) : IActorLabMessage;

/// <summary>The answer to any command: done, or refused with the reason.</summary>
public sealed record CommandReply(bool Ok, string Message) : IActorLabMessage;

/// <summary>Stream run events and losses to this subscriber until it stops or unwatches.</summary>
public sealed record Watch(IActorRef Subscriber) : IActorLabMessage;

public sealed record Unwatch(IActorRef Subscriber) : IActorLabMessage;

/// <summary>One streamed line: a run event (kind = the event name) or progress/eval (kind = "progress"/"eval").</summary>
public sealed record WatchNotice(DateTimeOffset At, string Kind, string? RunId, long? Step, double? Loss, string Text) : IActorLabMessage;
