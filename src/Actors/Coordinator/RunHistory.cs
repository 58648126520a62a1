using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ActorLab.Actors.Control;

namespace ActorLab.Actors.Coordinator;

/// <summary>
/// A run's (or job's) history from the coordinator's journal: Akka.Persistence.Sql's read journal, its events by the
/// run's tag (<see cref="RunEventTags"/>), the newest few kept while streaming, so a run with a million checkpoints
/// costs a scan of its own rows, never memory for all of them. Events journalled before tags existed are not found.
/// </summary>
public static class RunHistory
{
    public const int MaxLimit = 1000;

    public static async Task<RunEventsReply> Read(ActorSystem system, string runId, int limit)
    {
        limit = Math.Clamp(limit, 1, MaxLimit);
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>("akka.persistence.query.journal.sql");
        var newest = new Queue<RunEvent>();
        var total = 0;
        await journal.CurrentEventsByTag(RunEventTags.Of(runId), Offset.NoOffset())
            .RunForeach(envelope =>
            {
                total++;
                newest.Enqueue(Line(envelope));
                if (newest.Count > limit) newest.Dequeue();
            }, system.Materializer());
        return new RunEventsReply(runId, true, [.. newest], total);
    }

    static RunEvent Line(EventEnvelope envelope)
    {
        var e = (ISweepEvent)envelope.Event;
        var (_, step, text) = SweepCoordinator.Describe(e);
        return new RunEvent(At(envelope.Timestamp), SweepCoordinator.EventName(e), step, text);
    }

    /// <summary>The journal's write time of an event (Akka.Persistence.Sql writes DateTime ticks).</summary>
    static DateTimeOffset At(long timestamp) => new(timestamp, TimeSpan.Zero);
}
