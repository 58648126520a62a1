using System.Collections.Frozen;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Node;
using ActorLab.Actors.Training;

namespace ActorLab.Actors.Serialization;

/// <summary>
/// The wire names of ActorLab messages. A name and its version never change meaning: to change a record's shape,
/// add the new shape under version+1 and keep reading the old one (journals hold old events forever).
/// </summary>
public static class MessageRegistry
{
    static readonly (Type Type, string Name, int Version)[] Entries =
    [
        // journal events
        (typeof(SweepSubmitted), "sweep-submitted", 1),
        (typeof(DatasetPrepared), "dataset-prepared", 1),
        (typeof(DatasetFailed), "dataset-failed", 1),
        (typeof(RunLeased), "run-leased", 1),
        (typeof(RunStarted), "run-started", 1),
        (typeof(CheckpointRecorded), "checkpoint-recorded", 1),
        (typeof(RunCompleted), "run-completed", 1),
        (typeof(RunAttemptFailed), "run-attempt-failed", 1),
        (typeof(RunFailed), "run-failed", 1),
        (typeof(RunStopRequested), "run-stop-requested", 1),
        (typeof(RunSuspended), "run-suspended", 1),
        (typeof(RunRequeued), "run-requeued", 1),
        (typeof(RunCancelled), "run-cancelled", 1),
        (typeof(SweepPaused), "sweep-paused", 1),
        (typeof(SweepResumed), "sweep-resumed", 1),
        (typeof(SweepStopped), "sweep-stopped", 1),
        (typeof(SweepCancelled), "sweep-cancelled", 1),
        (typeof(CapacityMeasured), "capacity-measured", 1),
        (typeof(CoordinatorSnapshot), "coordinator-snapshot", 1),
        // commands and reports (node <-> coordinator, console -> coordinator)
        (typeof(SubmitSweep), "submit-sweep", 1),
        (typeof(ReportDatasetPrepared), "report-dataset-prepared", 1),
        (typeof(ReportDatasetFailed), "report-dataset-failed", 1),
        (typeof(ScheduleRuns), "schedule-runs", 1),
        (typeof(LeaseLost), "lease-lost", 1),
        (typeof(ReportCapacity), "report-capacity", 1),
        (typeof(ReportRunStarted), "report-run-started", 1),
        (typeof(ReportCheckpoint), "report-checkpoint", 1),
        (typeof(ReportRunCompleted), "report-run-completed", 1),
        (typeof(ReportRunFailed), "report-run-failed", 1),
        (typeof(ReportRunStopped), "report-run-stopped", 1),
        (typeof(PauseSweep), "pause-sweep", 1),
        (typeof(ResumeSweep), "resume-sweep", 1),
        (typeof(StopSweep), "stop-sweep", 1),
        (typeof(CancelSweep), "cancel-sweep", 1),
        (typeof(SuspendRun), "suspend-run", 1),
        (typeof(ResumeRun), "resume-run", 1),
        (typeof(RegisterNode), "register-node", 1),
        (typeof(StartRun), "start-run", 1),
        (typeof(StopRun), "stop-run", 1),
        (typeof(RunProgress), "run-progress", 1),
        (typeof(EvalReport), "eval-report", 1),
        (typeof(BatchRequest), "batch-request", 1),
        (typeof(BatchReady), "batch-ready", 1),
        // console protocol
        (typeof(GetStatus), "get-status", 1),
        (typeof(StatusReply), "status-reply", 1),
        (typeof(GetRuns), "get-runs", 1),
        (typeof(RunsReply), "runs-reply", 1),
        (typeof(SubmitSweepFile), "submit-sweep-file", 1),
        (typeof(CommandReply), "command-reply", 1),
        (typeof(Watch), "watch", 1),
        (typeof(Unwatch), "unwatch", 1),
        (typeof(WatchNotice), "watch-notice", 1),
    ];

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
}
