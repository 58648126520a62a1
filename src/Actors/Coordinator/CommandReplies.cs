using System.Collections.Immutable;

namespace ActorLab.Actors.Coordinator;

/// <summary>
/// What a console is told after a command took effect: one sentence saying what happened and what it means for the
/// runs ("sweep quickstart paused: running runs go on, no new runs start"), from the events the command produced.
/// </summary>
public static class CommandReplies
{
    public const string NothingToChange = "nothing to change";
    /// <summary>What the reply to a finished sweep submitted again says (it is measured again, nothing retrains).</summary>
    public const string MeasuredAgain = "its capacity is measured again from its runs' accepted eval results (nothing is retrained)";

    public static string Sentence(ImmutableArray<ISweepEvent> events)
    {
        int Count<T>() => events.OfType<T>().Count();
        var stops = events.OfType<RunStopRequested>().ToList();
        var first = events.FirstOrDefault();
        return first switch
        {
            SweepSubmitted s => $"sweep {s.Sweep} submitted: {Plural(s.Runs.Length + events.OfType<SweepRunsAdded>().Sum(a => a.Runs.Length), "run")} queued on {Plural(s.Datasets.Length, "dataset")}; `console status` shows its progress",
            SweepPaused s => $"sweep {s.Sweep} paused: running runs go on, no new runs start (`resume {s.Sweep}` to go on)",
            SweepResumed s => $"sweep {s.Sweep} resumed: queued runs start as slots free up",
            SweepStopped s => $"sweep {s.Sweep} stopping: running runs finish, {Plural(Count<RunCancelled>(), "queued run")} will not start",
            SweepCancelled s => $"sweep {s.Sweep} cancelled: {Plural(stops.Count, "running run")} {(stops.Count == 1 ? "ends" : "end")} now, {Plural(Count<RunCancelled>(), "queued run")} will not start",
            RunStopRequested { Kind: StopKind.Suspend } r => $"run {r.RunId} suspending: it checkpoints now and frees its slot (`resume {r.RunId}` requeues it)",
            RunStopRequested r => $"run {r.RunId} stopping ({r.Kind.ToString().ToLowerInvariant()})",
            RunRequeued r => $"run {r.RunId} requeued: it resumes from its last checkpoint when a slot is free",
            JobRetried j when events.Length == 1 && j.JobId.StartsWith(SweepState.MeasureJobId(""), StringComparison.Ordinal) =>
                $"sweep {j.JobId[SweepState.MeasureJobId("").Length..]}: {MeasuredAgain}",
            RunRetried or JobRetried => Count<RunRetried>() switch
            {
                0 => $"{Plural(Count<JobRetried>(), "failed job")} queued again",
                var n => $"{Plural(n, "failed run")} queued again{(Count<JobRetried>() > 0 ? $" (and {Plural(Count<JobRetried>(), "failed dataset job")})" : "")}: " +
                         "each resumes from its last recorded checkpoint, its failures forgotten",
            },
            JobQueued { Kind: JobKind.Probe } j => $"probe of {j.Target} queued: it runs on the next free slot, results in the run's probes/ folder",
            JobQueued j => $"{j.Kind.ToString().ToLowerInvariant()} job {j.JobId} queued",
            null => NothingToChange,
            _ => string.Join("; ", events.GroupBy(SweepCoordinator.EventName).Select(g => g.Count() == 1 ? g.Key : $"{g.Key} x{g.Count()}")),
        };
    }

    static string Plural(int n, string what) => n == 1 ? $"1 {what}" : $"{n} {what}s";
}
