using System.Collections.Immutable;
using ActorLab.Actors.Coordinator;

namespace ActorLab.Actors.Tests;

public class SweepStateTests
{
    static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    static SweepState Step(SweepState s, ISweepCommand c, RetryPolicy? policy = null)
    {
        var d = s.Decide(c, policy);
        Assert.False(d.Rejected, d.Rejection);
        return s.ApplyAll(d.Events);
    }

    static SweepState Submitted(string name = "tiny", int dp = 1)
    {
        var s = Step(SweepState.Empty, new SubmitSweep(TestSweeps.Named(name, dp)));
        foreach (var d in s.DatasetsToPrepare.ToList())
            s = Step(s, new ReportDatasetPrepared(d.Spec.Key, "/p", "/t"));
        return s;
    }

    static ImmutableArray<SlotRef> Slots(string node, params int[] slots) => [.. slots.Select(i => new SlotRef(node, i))];

    [Fact]
    public void Submit_queues_every_run_and_asks_for_its_dataset()
    {
        var s = Step(SweepState.Empty, new SubmitSweep(TestSweeps.Spec()));
        Assert.Equal(4, s.Runs.Count);
        Assert.All(s.Runs.Values, r => Assert.Equal(RunStatus.Queued, r.Status));
        Assert.Single(s.DatasetsToPrepare);
        // nothing is scheduled before the dataset exists
        Assert.Empty(s.Decide(new ScheduleRuns(Slots("n1", 0, 1), T0)).Events);
    }

    [Fact]
    public void Resubmitting_the_same_sweep_is_a_no_op_but_a_different_one_under_the_name_is_refused()
    {
        var s = Submitted();
        var same = s.Decide(new SubmitSweep(TestSweeps.Spec()));
        Assert.False(same.Rejected);
        Assert.Empty(same.Events);
        var other = TestSweeps.Spec(TestSweeps.Tiny.Replace("max-steps = 20", "max-steps = 30"));
        Assert.Contains("different sweep named 'tiny'", s.Decide(new SubmitSweep(other)).Rejection);
    }

    [Fact]
    public void Scheduling_fills_free_slots_in_order_with_growing_epochs()
    {
        var s = Submitted();
        var d = s.Decide(new ScheduleRuns(Slots("n1", 0, 1), T0));
        var leases = d.Events.Cast<RunLeased>().ToList();
        Assert.Equal(2, leases.Count);
        Assert.Equal([1L, 2L], leases.Select(l => l.Epoch));
        Assert.Equal([0, 1], leases.SelectMany(l => l.Slots));
        s = s.ApplyAll(d.Events);
        Assert.Equal(2, s.LastEpoch);
        // the same slots offered again: they are taken, nothing new
        Assert.Empty(s.Decide(new ScheduleRuns(Slots("n1", 0, 1), T0)).Events);
    }

    [Fact]
    public void Data_parallel_runs_need_all_their_slots_on_one_node()
    {
        var s = Submitted(dp: 2);
        Assert.Empty(s.Decide(new ScheduleRuns([new SlotRef("a", 0), new SlotRef("b", 0)], T0)).Events);
        var lease = Assert.Single(s.Decide(new ScheduleRuns([.. Slots("a", 0), .. Slots("b", 0, 1)], T0)).Events.Cast<RunLeased>());
        Assert.Equal("b", lease.NodeId);
        Assert.Equal([0, 1], lease.Slots.ToArray());
    }

    [Fact]
    public void A_full_run_lifecycle_records_checkpoints_and_completes()
    {
        var s = Submitted();
        s = Step(s, new ScheduleRuns(Slots("n1", 0), T0));
        var run = s.Runs.Values.Single(r => r.HoldsLease);
        var id = run.Spec.RunId;
        var epoch = run.Lease!.Epoch;
        s = Step(s, new ReportRunStarted(id, epoch, 0));
        Assert.Equal(RunStatus.Running, s.Runs[id].Status);
        s = Step(s, new ReportCheckpoint(id, epoch, 5, "/ck5", 2.5));
        Assert.Equal(5, s.Runs[id].CheckpointStep);
        Assert.Contains("older than", s.Decide(new ReportCheckpoint(id, epoch, 3, "/ck3", 2.5)).Rejection);
        s = Step(s, new ReportRunCompleted(id, epoch, 20, "step cap"));
        Assert.Equal(RunStatus.Completed, s.Runs[id].Status);
        Assert.Null(s.Runs[id].Lease);
        Assert.Empty(s.LeasedSlots);
    }

    [Fact]
    public void Reports_from_a_stale_lease_are_rejected()
    {
        var s = Submitted();
        s = Step(s, new ScheduleRuns(Slots("n1", 0), T0));
        var id = s.Runs.Values.Single(r => r.HoldsLease).Spec.RunId;
        s = Step(s, new ReportRunStarted(id, 1, 0));
        s = Step(s, new ReportCheckpoint(id, 1, 5, "/ck5", 2));
        // node n1 is cut off; its lease is declared lost and the run moves to n2 under epoch 2
        s = Step(s, new LeaseLost(id, 1));
        Assert.Equal(RunStatus.Queued, s.Runs[id].Status);
        s = Step(s, new ScheduleRuns(Slots("n2", 0), T0));
        Assert.Equal(2L, s.Runs[id].Lease!.Epoch);
        Assert.Equal("n2", s.Runs[id].Lease!.NodeId);
        Assert.Equal([0], s.Runs[id].Lease!.Slots.ToArray());
        // the old holder comes back and reports: every report under epoch 1 is refused
        Assert.Contains("stale lease", s.Decide(new ReportCheckpoint(id, 1, 10, "/old10", 1)).Rejection);
        Assert.Contains("stale lease", s.Decide(new ReportRunCompleted(id, 1, 20, "step cap")).Rejection);
        Assert.Contains("stale lease", s.Decide(new ReportRunFailed(id, 1, "boom", T0)).Rejection);
        Assert.Contains("stale lease", s.Decide(new LeaseLost(id, 1)).Rejection);
        // the new holder's reports count; its checkpoint history continues from step 5
        Assert.Equal(5, s.Runs[id].CheckpointStep);
        s = Step(s, new ReportCheckpoint(id, 2, 10, "/new10", 1));
        Assert.Equal("/new10", s.Runs[id].CheckpointPath);
        // after completion even the current epoch cannot report again
        s = Step(s, new ReportRunCompleted(id, 2, 20, "step cap"));
        Assert.Contains("stale lease", s.Decide(new ReportCheckpoint(id, 2, 25, "/late", 1)).Rejection);
    }

    [Fact]
    public void A_failed_attempt_is_retried_after_backoff_and_a_poison_run_fails_for_good()
    {
        var policy = new RetryPolicy(3, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5));
        var s = Submitted();
        var id = s.RunsOf("tiny").First().Spec.RunId;
        var now = T0;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            s = Step(s, new ScheduleRuns(Slots("n1", 0), now));
            var lease = s.Runs[id].Lease!;
            Assert.Equal(attempt, lease.Epoch);
            s = Step(s, new ReportRunFailed(id, lease.Epoch, "NaN loss", now), policy);
            if (attempt < 3)
            {
                Assert.Equal(RunStatus.Queued, s.Runs[id].Status);
                Assert.Equal(now + policy.Backoff(attempt), s.Runs[id].RetryAt);
                // not before the backoff: the slot goes to the next run instead
                var early = s.Decide(new ScheduleRuns(Slots("n1", 0), now)).Events.Cast<RunLeased>().Single();
                Assert.NotEqual(id, early.RunId);
                now = s.Runs[id].RetryAt!.Value;
                // make sure `id` is first again by cancelling nothing: the other runs stay queued, ours is first in order
            }
        }
        Assert.Equal(RunStatus.Failed, s.Runs[id].Status);
        Assert.Contains("failed 3 times", s.Runs[id].Error);
        // the sweep goes on with the other runs
        Assert.Single(s.Decide(new ScheduleRuns(Slots("n1", 0), now)).Events);
    }

    [Fact]
    public void A_checkpoint_resets_the_failure_count()
    {
        var s = Submitted();
        var id = s.RunsOf("tiny").First().Spec.RunId;
        s = Step(s, new ScheduleRuns(Slots("n1", 0), T0));
        s = Step(s, new ReportRunFailed(id, 1, "oom", T0));
        Assert.Equal(1, s.Runs[id].FailedAttempts);
        s = Step(s, new ScheduleRuns(Slots("n1", 0), T0.AddMinutes(1)));
        s = Step(s, new ReportCheckpoint(id, 2, 5, "/c", 1));
        Assert.Equal(0, s.Runs[id].FailedAttempts);
    }

    [Fact]
    public void Pause_starts_nothing_new_and_resume_starts_again()
    {
        var s = Submitted();
        s = Step(s, new ScheduleRuns(Slots("n1", 0), T0));
        s = Step(s, new PauseSweep(null));
        Assert.True(s.Sweeps["tiny"].Paused);
        Assert.Empty(s.Decide(new ScheduleRuns(Slots("n1", 1), T0)).Events);
        Assert.Single(s.Runs.Values, r => r.HoldsLease); // the running run goes on
        Assert.Empty(s.Decide(new PauseSweep("tiny")).Events); // idempotent
        s = Step(s, new ResumeSweep("tiny"));
        Assert.Single(s.Decide(new ScheduleRuns(Slots("n1", 1), T0)).Events);
        Assert.Contains("unknown sweep 'nope'", s.Decide(new PauseSweep("nope")).Rejection);
    }

    [Fact]
    public void Stop_lets_running_runs_finish_and_cancels_the_queue()
    {
        var s = Submitted();
        s = Step(s, new ScheduleRuns(Slots("n1", 0), T0));
        var running = s.Runs.Values.Single(r => r.HoldsLease).Spec.RunId;
        s = Step(s, new StopSweep("tiny"));
        Assert.Equal(3, s.Runs.Values.Count(r => r.Status == RunStatus.Cancelled));
        Assert.Null(s.Runs[running].StopRequested);
        Assert.False(s.AllRunsEnded("tiny"));
        s = Step(s, new ReportRunCompleted(running, 1, 20, "step cap"));
        Assert.True(s.AllRunsEnded("tiny"));
        Assert.Single(s.SweepsToMeasure);
        s = Step(s, new ReportCapacity("tiny", "/out", null));
        Assert.Empty(s.SweepsToMeasure);
        Assert.True(s.Finished("tiny"));
    }

    [Fact]
    public void Cancel_asks_running_runs_to_end_now()
    {
        var s = Submitted();
        s = Step(s, new ScheduleRuns(Slots("n1", 0, 1), T0));
        s = Step(s, new CancelSweep(null));
        var stopping = s.Runs.Values.Where(r => r.HoldsLease).ToList();
        Assert.Equal(2, stopping.Count);
        Assert.All(stopping, r => Assert.Equal(StopKind.Cancel, r.StopRequested));
        var first = stopping[0];
        s = Step(s, new ReportRunStopped(first.Spec.RunId, first.Lease!.Epoch, 7, StopKind.Cancel));
        Assert.Equal(RunStatus.Cancelled, s.Runs[first.Spec.RunId].Status);
        // a lost lease of a cancelled sweep ends the run instead of requeueing it
        var second = stopping[1];
        s = Step(s, new LeaseLost(second.Spec.RunId, second.Lease!.Epoch));
        Assert.Equal(RunStatus.Cancelled, s.Runs[second.Spec.RunId].Status);
        Assert.True(s.AllRunsEnded("tiny"));
        Assert.Empty(s.DatasetsToPrepare);
    }

    [Fact]
    public void Suspend_checkpoints_and_frees_the_slot_and_resume_requeues()
    {
        var s = Submitted();
        s = Step(s, new ScheduleRuns(Slots("n1", 0), T0));
        var id = s.Runs.Values.Single(r => r.HoldsLease).Spec.RunId;
        s = Step(s, new ReportRunStarted(id, 1, 0));
        var suffix = id.Split('/')[1];
        s = Step(s, new SuspendRun(suffix)); // a run can be named without its sweep prefix
        Assert.Equal(StopKind.Suspend, s.Runs[id].StopRequested);
        Assert.Contains("already stopping", s.Decide(new SuspendRun(id)).Rejection);
        s = Step(s, new ReportRunStopped(id, 1, 8, StopKind.Suspend));
        Assert.Equal(RunStatus.Suspended, s.Runs[id].Status);
        Assert.Empty(s.LeasedSlots);
        // a suspended run is not scheduled, but the slot goes to another run
        var next = s.Decide(new ScheduleRuns(Slots("n1", 0), T0)).Events.Cast<RunLeased>().Single();
        Assert.NotEqual(id, next.RunId);
        Assert.Contains("not suspended", s.Decide(new ResumeRun(next.RunId)).Rejection);
        s = Step(s, new ResumeRun(id));
        Assert.Equal(RunStatus.Queued, s.Runs[id].Status);
        Assert.Contains("unknown run 'ghost'", s.Decide(new SuspendRun("ghost")).Rejection);
        Assert.Contains("not running", s.Decide(new SuspendRun(id)).Rejection);
    }

    [Fact]
    public void A_dataset_that_cannot_be_made_fails_its_runs_only()
    {
        var s = Step(SweepState.Empty, new SubmitSweep(TestSweeps.Named("a")));
        var key = s.DatasetsToPrepare.Single().Spec.Key;
        s = Step(s, new ReportDatasetFailed(key, "disk full"));
        Assert.All(s.RunsOf("a"), r => Assert.Equal(RunStatus.Failed, r.Status));
        Assert.Contains("disk full", s.RunsOf("a").First().Error);
        Assert.Single(s.SweepsToMeasure);
    }

    [Fact]
    public void Two_sweeps_share_the_slots_in_submission_order()
    {
        var s = Submitted("first");
        s = Step(s, new SubmitSweep(TestSweeps.Named("second")));
        var leases = s.Decide(new ScheduleRuns(Slots("n", 0, 1, 2, 3, 4, 5), T0)).Events.Cast<RunLeased>().ToList();
        Assert.Equal(6, leases.Count);
        Assert.Equal(4, leases.Count(l => l.RunId.StartsWith("first/")));
        Assert.Equal(leases.Select(l => l.Epoch).Distinct().Count(), leases.Count);
    }

    [Fact]
    public void Replaying_the_events_gives_the_same_state()
    {
        var events = new List<ISweepEvent>();
        var s = SweepState.Empty;
        void Do(ISweepCommand c) { var d = s.Decide(c); events.AddRange(d.Events); s = s.ApplyAll(d.Events); }
        Do(new SubmitSweep(TestSweeps.Spec()));
        Do(new ReportDatasetPrepared(s.Datasets.Keys.Single(), "/p", "/t"));
        Do(new ScheduleRuns(Slots("n1", 0, 1), T0));
        var id = s.Runs.Values.First(r => r.HoldsLease).Spec.RunId;
        Do(new ReportCheckpoint(id, s.Runs[id].Lease!.Epoch, 5, "/c", 1.5));
        Do(new PauseSweep(null));
        var replayed = SweepState.Empty.ApplyAll(events);
        Assert.Equal(Describe(s), Describe(replayed));
    }

    static string Describe(SweepState s) =>
        string.Join("\n", s.Runs.Values.Select(r => $"{r.Spec.RunId} {r.Status} {r.Lease} {r.CheckpointStep} {r.CheckpointPath}"))
        + $"\n{s.LastEpoch} {string.Join(",", s.Sweeps.Values.Select(x => $"{x.Spec.Name}:{x.Paused}"))}";
}
