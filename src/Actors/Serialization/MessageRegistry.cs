using System.Collections.Frozen;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Node;

namespace ActorLab.Actors.Serialization;

/// <summary>
/// The wire and journal names of ActorLab messages. A name and its version never change meaning: to change a
/// record's shape, add the new shape under version+1 and keep reading the old one (journals hold old events
/// forever). Journal format 2 (logical ids, jobs) replaced format 1 wholesale; a format-1 journal is refused with
/// a message that says so.
/// </summary>
public static class MessageRegistry
{
    static readonly (Type Type, string Name, int Version)[] Entries =
    [
        // journal events (format 2)
        (typeof(SweepSubmitted), "sweep-submitted", 2),
        (typeof(SweepRunsAdded), "sweep-runs-added", 2),
        (typeof(DatasetPrepared), "dataset-prepared", 2),
        (typeof(JobQueued), "job-queued", 2),
        (typeof(JobLeased), "job-leased", 2),
        (typeof(JobDone), "job-done", 2),
        (typeof(JobAttemptFailed), "job-attempt-failed", 2),
        (typeof(JobFailed), "job-failed", 2),
        (typeof(JobRequeued), "job-requeued", 2),
        (typeof(RunLeased), "run-leased", 2),
        (typeof(RunStarted), "run-started", 2),
        (typeof(CheckpointRecorded), "checkpoint-recorded", 2),
        (typeof(RunCompleted), "run-completed", 2),
        (typeof(RunAttemptFailed), "run-attempt-failed", 2),
        (typeof(RunFailed), "run-failed", 2),
        (typeof(RunStopRequested), "run-stop-requested", 2),
        (typeof(RunSuspended), "run-suspended", 2),
        (typeof(RunRequeued), "run-requeued", 2),
        (typeof(RunCancelled), "run-cancelled", 2),
        (typeof(RunRetried), "run-retried", 2),
        (typeof(JobRetried), "job-retried", 2),
        (typeof(SweepPaused), "sweep-paused", 2),
        (typeof(SweepResumed), "sweep-resumed", 2),
        (typeof(SweepStopped), "sweep-stopped", 2),
        (typeof(SweepCancelled), "sweep-cancelled", 2),
        (typeof(NodeQuarantined), "node-quarantined", 2),
        (typeof(CoordinatorSnapshot), "coordinator-snapshot", 2),
        // node <-> coordinator
        (typeof(RegisterNode), "register-node", 2),
        (typeof(NodeRegistered), "node-registered", 1),
        (typeof(LeaseAccepted), "lease-accepted", 1),
        (typeof(ReportAck), "report-ack", 1),
        (typeof(RunStartedReport), "run-started-report", 1),
        (typeof(CheckpointReport), "checkpoint-report", 1),
        (typeof(RunCompletedReport), "run-completed-report", 1),
        (typeof(RunFailedReport), "run-failed-report", 1),
        (typeof(RunStoppedReport), "run-stopped-report", 1),
        (typeof(RunProgress), "run-progress", 2),
        (typeof(RunEvaluated), "run-evaluated", 1),
        (typeof(JobDoneReport), "job-done-report", 1),
        (typeof(JobFailedReport), "job-failed-report", 1),
        (typeof(StartRun), "start-run", 2),
        (typeof(StartJob), "start-job", 1),
        (typeof(StopLease), "stop-lease", 1),
        (typeof(CoordinatorUp), "coordinator-up", 1),
        // public: consoles and gateways
        (typeof(PauseSweep), "pause-sweep", 1),
        (typeof(ResumeSweep), "resume-sweep", 1),
        (typeof(StopSweep), "stop-sweep", 1),
        (typeof(CancelSweep), "cancel-sweep", 1),
        (typeof(SuspendRun), "suspend-run", 1),
        (typeof(ResumeRun), "resume-run", 1),
        (typeof(RetryFailed), "retry-failed", 1),
        (typeof(SubmitProbe), "submit-probe", 1),
        (typeof(GetStatus), "get-status", 1),
        (typeof(StatusReply), "status-reply", 2),
        (typeof(GetRuns), "get-runs", 3),
        (typeof(RunsReply), "runs-reply", 3),
        (typeof(GetRunEvents), "get-run-events", 1),
        (typeof(RunEventsReply), "run-events-reply", 1),
        (typeof(SubmitSweepFile), "submit-sweep-file", 1),
        (typeof(CommandReply), "command-reply", 1),
        (typeof(NoCoordinator), "no-coordinator", 1),
        (typeof(Gateway.SignedRequest), "signed-request", 1),
        (typeof(Gateway.Refused), "refused", 1),
        (typeof(Gateway.VerifiedRequest), "verified-request", 1),
        (typeof(Watch), "watch", 2),
        (typeof(WatchAck), "watch-ack", 1),
        (typeof(WatchNotice), "watch-notice", 2),
    ];

    /// <summary>Journal format 1's event names (ActorLab before the cluster): recognised only to refuse them clearly.</summary>
    static readonly FrozenSet<string> Format1 = new[]
    {
        "sweep-submitted@1", "dataset-prepared@1", "dataset-failed@1", "run-leased@1", "run-started@1", "checkpoint-recorded@1",
        "run-completed@1", "run-attempt-failed@1", "run-failed@1", "run-stop-requested@1", "run-suspended@1", "run-requeued@1",
        "run-cancelled@1", "sweep-paused@1", "sweep-resumed@1", "sweep-stopped@1", "sweep-cancelled@1", "capacity-measured@1",
        "coordinator-snapshot@1",
    }.ToFrozenSet();

    static readonly FrozenDictionary<Type, string> Manifests =
        Entries.ToFrozenDictionary(e => e.Type, e => $"{e.Name}@{e.Version}");

    static readonly FrozenDictionary<string, Type> Types =
        Entries.ToFrozenDictionary(e => $"{e.Name}@{e.Version}", e => e.Type);

    public static IEnumerable<Type> RegisteredTypes => Manifests.Keys;

    public static string ManifestOf(Type type) =>
        Manifests.TryGetValue(type, out var m)
            ? m
            : throw new InvalidOperationException($"{type.Name} is an IActorLabMessage but has no wire name in MessageRegistry");

    public static Type? TypeOf(string manifest) => Types.GetValueOrDefault(manifest);

    public static bool IsFormat1(string manifest) => Format1.Contains(manifest);
}
