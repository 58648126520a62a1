using ActorLab.Actors.Coordinator;
using ActorLab.Model.Storage;

namespace ActorLab.Actors.Tests;

/// <summary>Console replies are sentences that say what a command did to the runs, built from the events it made.</summary>
public class CommandRepliesTests
{
    static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    static (SweepState State, string Reply) Do(SweepState s, ISweepCommand c)
    {
        var d = s.Decide(c);
        Assert.False(d.Rejected, d.Rejection);
        return (s.ApplyAll(d.Events), CommandReplies.Sentence(d.Events));
    }

    [Fact]
    public void Every_control_verb_answers_with_what_happens_to_the_runs()
    {
        var (s, reply) = Do(SweepState.Empty, new SubmitSweep(TestSweeps.Plan()));
        Assert.Equal("sweep tiny submitted: 4 runs queued on 1 dataset; `console status` shows its progress", reply);

        (s, reply) = Do(s, new PauseSweep("tiny"));
        Assert.Equal("sweep tiny paused: running runs go on, no new runs start (`resume tiny` to go on)", reply);
        (s, reply) = Do(s, new ResumeSweep("tiny"));
        Assert.Equal("sweep tiny resumed: queued runs start as slots free up", reply);

        // lease one run so that a cancel has a running run to end and queued ones not to start
        var prep = s.Jobs.Values.Single();
        s = s.ApplyAll(s.Decide(new ScheduleLeases([new SlotRef("n1", 0)], T0)).Events);
        s = s.ApplyAll(s.Decide(new ReportJobDone(prep.JobId, s.Jobs[prep.JobId].Lease!.Epoch, "n1", null, new DatasetFingerprint("p", "t"))).Events);
        s = s.ApplyAll(s.Decide(new ScheduleLeases([new SlotRef("n1", 0)], T0)).Events);
        var running = s.Runs.Values.Single(r => r.Lease != null);
        s = s.ApplyAll(s.Decide(new ReportRunStarted(running.RunId, running.Lease!.Epoch, "n1", 0)).Events);

        var (_, suspend) = Do(s, new SuspendRun(running.RunId));
        Assert.Equal($"run {running.RunId} suspending: it checkpoints now and frees its slot (`resume {running.RunId}` requeues it)", suspend);
        var (_, stop) = Do(s, new StopSweep("tiny"));
        Assert.Equal("sweep tiny stopping: running runs finish, 3 queued runs will not start", stop);
        var (_, cancel) = Do(s, new CancelSweep("tiny"));
        Assert.Equal("sweep tiny cancelled: 1 running run ends now, 3 queued runs will not start", cancel);
    }

    [Fact]
    public void A_command_that_changes_nothing_says_so() =>
        Assert.Equal(CommandReplies.NothingToChange, CommandReplies.Sentence([]));
}
