using System.Collections.Immutable;
using ActorLab.Actors.Serialization;

namespace ActorLab.Actors.Control;

// The public protocol of the cluster: what a console (or the dashboard) may send to a gateway, and the answers.
// Sweep verbs reuse the coordinator's commands (PauseSweep, SuspendRun, SubmitProbe, ...).

public sealed record GetStatus() : IActorLabMessage;

public sealed record SweepSummary(
    string Name, string State, int Runs, int Queued, int Running, int Suspended, int Completed, int Failed, int Cancelled,
    string? ResultsDir, string? ResultsError);

/// <summary>A node as the coordinator sees it: its member address, roles, slots and their use, health.</summary>
public sealed record NodeSummary(string NodeId, string Roles, string Device, int Slots, int Busy, string State, string? Note);

/// <summary>A cluster member as the answering gateway sees it.</summary>
public sealed record MemberSummary(string Address, string State, string Roles, bool Reachable);

public sealed record StatusReply(
    ImmutableArray<SweepSummary> Sweeps, ImmutableArray<NodeSummary> Nodes, ImmutableArray<MemberSummary> Members,
    string CoordinatorAddress, string StorageRoot, int QueuedJobs, int RunningJobs) : IActorLabMessage;

/// <summary>
/// A page of runs (<see cref="Limit"/> at most), optionally of one sweep; with <see cref="ChangedAfter"/> only the
/// runs whose row changed after that point of the coordinator's change count (<see cref="RunsReply.Changes"/>).
/// </summary>
public sealed record GetRuns(string? Sweep, int Offset = 0, int Limit = 200, long? ChangedAfter = null) : IActorLabMessage;

public sealed record RunSummary(
    string RunId, string State, long Step, long CheckpointStep, double? Loss, string? Node, long? Epoch, int FailedAttempts, string? Error);

/// <param name="Changes">The coordinator's change count when it answered: ask again with ChangedAfter = this for what changed since.</param>
/// <param name="Incarnation">Which coordinator counted (a new one counts from 0: ask for everything again).</param>
public sealed record RunsReply(ImmutableArray<RunSummary> Runs, int Total, int Offset, long Changes = 0, string Incarnation = "") : IActorLabMessage;

/// <summary>The newest <see cref="Limit"/> (1..1000) journalled events of one run or job, oldest first.</summary>
public sealed record GetRunEvents(string RunId, int Limit = 200) : IActorLabMessage, ISlowAsk;

/// <summary>One journalled event of a run: when the journal wrote it, its name (`run-leased`, `checkpoint-recorded`, ...), step, fields.</summary>
public sealed record RunEvent(DateTimeOffset At, string Kind, long? Step, string Text);

/// <summary>A run's events (the newest, oldest first) and how many the journal holds in all; <see cref="Known"/> false: no such run or job.</summary>
public sealed record RunEventsReply(string RunId, bool Known, ImmutableArray<RunEvent> Events, int Total) : IActorLabMessage;

/// <summary>
/// An ask that can take seconds: a command whose work grows with the runs of a sweep (submit, stop, cancel, retry:
/// seconds at 100,000 runs), or a query of the journal (a run's history: the first read after a failover waits out
/// the gaps a killed coordinator left in the journal's ordering). The gateway waits `actorlab.gateway.submit-timeout`
/// for it, the console and the dashboard a minute more than their ask-timeout.
/// </summary>
public interface ISlowAsk
{
    /// <summary>How long a console or the dashboard waits for <paramref name="message"/>: a slow ask a minute more.</summary>
    static TimeSpan Wait(object message, TimeSpan askTimeout) => message is ISlowAsk ? askTimeout + TimeSpan.FromSeconds(60) : askTimeout;
}

/// <summary>Submit a sweep file's text; the coordinator validates and plans it exactly as `sweep run` would.</summary>
public sealed record SubmitSweepFile(string Source, string Text) : IActorLabMessage, ISlowAsk;

/// <summary>The answer to any command: done, or refused with the reason.</summary>
public sealed record CommandReply(bool Ok, string Message) : IActorLabMessage;

/// <summary>The gateway's node is up but no coordinator answered (it is starting, or failing over).</summary>
public sealed record NoCoordinator(string Message) : IActorLabMessage;

/// <summary>
/// Stream run events and losses to the sender for the next <see cref="Seconds"/>; the console renews it, so a
/// watch survives a gateway or coordinator going away (it lands on another gateway) and ends with the console.
/// </summary>
public sealed record Watch(int Seconds) : IActorLabMessage;

public sealed record WatchAck(string Gateway) : IActorLabMessage;

/// <summary>One streamed line: a run event (kind = the event name) or progress/eval; <see cref="Seq"/> orders and de-duplicates a coordinator's notices.</summary>
public sealed record WatchNotice(string Coordinator, long Seq, DateTimeOffset At, string Kind, string? RunId, long? Step, double? Loss, string Text) : IActorLabMessage;
