using ActorLab.Actors.Control;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Actors;

/// <summary>A run's history (GetRunEvents) is read back from the coordinator's journal by the run's tag, on both journals.</summary>
public class RunHistoryTests
{
    [SkippableTheory]
    [MemberData(nameof(RuntimeTests.Journals), MemberType = typeof(RuntimeTests))]
    public async Task A_runs_events_come_back_from_the_journal_in_order_and_after_a_restart(string journal)
    {
        using var dir = new TempDir();
        var j = TestJournal.Of(journal);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        string run;
        RunEventsReply first;
        await using (var n = InProcessNode.Start(dir.Path, j))
        {
            Assert.True((await RuntimeTests.Submit(n, RuntimeTests.Sweep("history", maxSteps: 20, checkpointEvery: 5))).Ok);
            await n.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromSeconds(60));
            run = (await n.Runs()).Runs.First().RunId;
            first = await n.Ask<RunEventsReply>(new GetRunEvents(run));
            var after = DateTimeOffset.UtcNow.AddSeconds(1);

            Assert.True(first.Known);
            var kinds = first.Events.Select(e => e.Kind).ToList();
            Assert.Equal("run-leased", kinds[0]);
            Assert.Equal("run-completed", kinds[^1]);
            // every checkpoint the run wrote, in step order, and nothing of another run
            Assert.Equal([5L, 10, 15, 20], first.Events.Where(e => e.Kind == "checkpoint-recorded").Select(e => e.Step!.Value).ToArray());
            Assert.Equal(first.Events.Length, first.Total);
            Assert.All(first.Events, e => Assert.InRange(e.At, before, after));
            Assert.Equal(first.Events.Select(e => e.At).Order().ToArray(), first.Events.Select(e => e.At).ToArray());

            // a limit keeps the newest, and says how many there are in all
            var two = await n.Ask<RunEventsReply>(new GetRunEvents(run, 2));
            Assert.Equal(first.Events[^2..], two.Events.ToArray());
            Assert.Equal(first.Total, two.Total);

            var unknown = await n.Ask<RunEventsReply>(new GetRunEvents("history/no-such-run"));
            Assert.False(unknown.Known);
            Assert.Empty(unknown.Events);
        }
        // a new coordinator reads the same history from the journal (it was never in its memory)
        await using var again = InProcessNode.Start(dir.Path, j);
        await again.WaitFor(s => s.Sweeps.Any(x => x.State == "finished"), TimeSpan.FromSeconds(60));
        var second = await again.Ask<RunEventsReply>(new GetRunEvents(run));
        Assert.Equal(first.Events.ToArray(), second.Events.ToArray());
    }
}
