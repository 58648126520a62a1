using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Actors;

/// <summary>
/// `GetRuns.ChangedAfter`, what the dashboard's refresh asks: only the runs whose rows moved since a point of the
/// coordinator's change count (progress, an event), none of the queued ones that did not; a new coordinator is a new
/// incarnation, so an asker knows to start again from everything.
/// </summary>
public class ChangedRunsTests
{
    [Fact]
    public async Task Changed_after_answers_only_the_runs_that_moved_and_a_new_coordinator_is_a_new_incarnation()
    {
        using var dir = new TempDir();
        var journal = TestJournal.Of("sqlite");
        string incarnation;
        await using (var n = InProcessNode.Start(dir.Path, journal, "actorlab.node.cpu-slots = 1", stepTime: TimeSpan.FromMilliseconds(20)))
        {
            Assert.True((await RuntimeTests.Submit(n, RuntimeTests.Sweep("changes", maxSteps: 100_000, checkpointEvery: 1000))).Ok);
            await n.WaitForRuns(r => r.Runs.Count(x => x.State == "running" && x.Step > 0) == 1);
            var all = await n.Ask<RunsReply>(new GetRuns(null, 0, 1000));
            Assert.Equal(4, all.Total);
            Assert.NotEmpty(all.Incarnation);
            var running = all.Runs.Single(x => x.State == "running").RunId;

            // progress comes once a second: after 2.5 s the running run has moved, the three queued ones have not
            await Task.Delay(2500);
            var moved = await n.Ask<RunsReply>(new GetRuns(null, 0, 1000, all.Changes));
            Assert.Equal([running], moved.Runs.Select(x => x.RunId).ToArray());
            Assert.Equal(1, moved.Total);
            Assert.True(moved.Runs[0].Step > all.Runs.Single(x => x.RunId == running).Step);
            Assert.True(moved.Changes > all.Changes);
            Assert.Equal(all.Incarnation, moved.Incarnation);

            // an event changes a row too: suspending the running run frees its slot, so the next run is leased
            Assert.True((await n.Ask<CommandReply>(new SuspendRun(running))).Ok);
            await n.WaitForRuns(r => r.Runs.Any(x => x.RunId == running && x.State == "suspended"));
            var after = await n.Ask<RunsReply>(new GetRuns("changes", 0, 1000, moved.Changes));
            Assert.Contains(running, after.Runs.Select(x => x.RunId));
            Assert.Equal("suspended", after.Runs.Single(x => x.RunId == running).State);
            Assert.DoesNotContain(after.Runs, x => x.State == "queued" && x.Epoch is null); // untouched queued runs stay out
            incarnation = all.Incarnation;
        }
        await using var again = InProcessNode.Start(dir.Path, journal, "actorlab.node.cpu-slots = 1", stepTime: TimeSpan.FromMilliseconds(20));
        var fresh = await again.Ask<RunsReply>(new GetRuns(null, 0, 1000));
        Assert.NotEqual(incarnation, fresh.Incarnation);
        Assert.Equal(4, fresh.Total);
    }
}
