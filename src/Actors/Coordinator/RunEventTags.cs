using Akka.Persistence.Journal;

namespace ActorLab.Actors.Coordinator;

/// <summary>
/// Every journalled event of a run or job carries one tag, `run:ID`, in Akka.Persistence.Sql's tag table, so a run's
/// history is one indexed query of the journal (<see cref="RunHistory"/>) instead of a replay of every sweep's events.
/// The payload in the journal is the event itself: recovery and `db check` read it as before.
/// </summary>
public static class RunEventTags
{
    public static string Of(string runId) => "run:" + runId;

    /// <summary>What the coordinator hands the journal for <paramref name="e"/>: tagged when it names a run or job.</summary>
    public static object Tag(ISweepEvent e) => SweepCoordinator.Describe(e).Id is { } id ? new Tagged(e, [Of(id)]) : e;

    /// <summary>The event inside what <see cref="Tag"/> made.</summary>
    public static ISweepEvent Payload(object persisted) => (ISweepEvent)(persisted is Tagged t ? t.Payload : persisted);
}
