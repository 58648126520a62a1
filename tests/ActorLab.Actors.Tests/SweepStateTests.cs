using System.Collections.Immutable;
using ActorLab.Actors.Coordinator;
using ActorLab.Model.Storage;

namespace ActorLab.Actors.Tests;

public class SweepStateTests
{
    static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    static readonly DatasetFingerprint Fp = new("profiles-sha", "tokenizer-sha");

    static SweepState Step(SweepState s, ISweepCommand c, SchedulingPolicy? policy = null)
    {
        var d = s.Decide(c, policy);
        Assert.False(d.Rejected, d.Rejection);
        return s.ApplyAll(d.Events);
    }

    /// <summary>Leases every queued dataset job on a spare node and reports it done.</summary>
    static SweepState PrepareDatasets(SweepState s)
    {
        foreach (var job in s.Jobs.Values.Where(j => j.Kind == JobKind.PrepareDataset && j.Status == JobStatus.Queued).ToList())
        {
            s = Step(s, new ScheduleLeases(Slots("prep", 0), T0));
            var lease = s.Jobs[job.JobId].Lease!;
            s = Step(s, new ReportJobDone(job.JobId, lease.Epoch, Holder(s, job.JobId), null, Fp));
        }
        return s;
    }

    static SweepState Submitted(string name = "tiny", int dp = 1) =>
        PrepareDatasets(Step(SweepState.Empty, new SubmitSweep(TestSweeps.Named(name, dp))));

    static ImmutableArray<SlotRef> Slots(string node, params int[] slots) => [.. slots.Select(i => new SlotRef(node, i))];

    /// <summary>The node holding a run's or job's lease (reports come from it), or "nobody".</summary>
    static string Holder(SweepState s, string id) =>
        (s.Runs.TryGetValue(id, out var r) ? r.Lease : s.Jobs.TryGetValue(id, out var j) ? j.Lease : null)?.NodeId ?? "nobody";

    static ReportCheckpoint Checkpoint(SweepState s, string id, long epoch, long step) => new(id, epoch, Holder(s, id), step, $"sha{step}", 2.5);

    [Fact]
    public void Submit_queues_every_run_and_a_job_for_its_dataset()
    {
        var s = Step(SweepState.Empty, new SubmitSweep(TestSweeps.Plan()));
        Assert.Equal(4, s.Runs.Count);
        Assert.All(s.Runs.Values, r => Assert.Equal(RunStatus.Queued, r.Status));
        var job = Assert.Single(s.Jobs.Values);
        Assert.Equal((JobKind.PrepareDataset, JobStatus.Queued), (job.Kind, job.Status));
        Assert.Equal(s.Datasets.Keys.Single(), job.Target);
        // the dataset job takes the first slot; no run starts before its dataset exists
        var d = s.Decide(new ScheduleLeases(Slots("n1", 0, 1), T0));
        Assert.IsType<JobLeased>(Assert.Single(d.Events));
    }

    [Fact]
    public void A_prepared_dataset_records_its_fingerprint_once_and_a_stale_job_report_is_refused()
    {
        var s = Step(SweepState.Empty, new SubmitSweep(TestSweeps.Plan()));
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        var job = s.Jobs.Values.Single();
        var epoch = job.Lease!.Epoch;
        Assert.Contains("needs its fingerprint", s.Decide(new ReportJobDone(job.JobId, epoch, Holder(s, job.JobId), null, null)).Rejection);
        s = Step(s, new LeaseLost(job.JobId, epoch, "node left"));
        Assert.Equal(JobStatus.Queued, s.Jobs[job.JobId].Status);
        Assert.Contains("stale lease", s.Decide(new ReportJobDone(job.JobId, epoch, Holder(s, job.JobId), null, Fp)).Rejection);
        s = Step(s, new ScheduleLeases(Slots("n2", 0), T0));
        s = Step(s, new ReportJobDone(job.JobId, s.Jobs[job.JobId].Lease!.Epoch, Holder(s, job.JobId), null, Fp));
        Assert.Equal(Fp, s.Datasets.Values.Single().Fingerprint);
        Assert.Equal(4, s.Decide(new ScheduleLeases(Slots("n2", 0, 1, 2, 3), T0)).Events.Length);
    }

    [Fact]
    public void Resubmitting_the_same_sweep_is_a_no_op_but_a_different_one_under_the_name_is_refused()
    {
        var s = Submitted();
        var same = s.Decide(new SubmitSweep(TestSweeps.Plan()));
        Assert.False(same.Rejected);
        Assert.Empty(same.Events);
        var other = TestSweeps.Plan(TestSweeps.Tiny.Replace("max-steps = 20", "max-steps = 30"));
        Assert.Contains("different sweep named 'tiny'", s.Decide(new SubmitSweep(other)).Rejection);
    }

    [Fact]
    public void Scheduling_fills_free_slots_in_order_with_growing_epochs()
    {
        var s = Submitted();
        var first = s.LastEpoch + 1;
        var d = s.Decide(new ScheduleLeases(Slots("n1", 0, 1), T0));
        var leases = d.Events.Cast<RunLeased>().ToList();
        Assert.Equal(2, leases.Count);
        Assert.Equal([first, first + 1], leases.Select(l => l.Epoch));
        Assert.Equal([0, 1], leases.SelectMany(l => l.Slots));
        s = s.ApplyAll(d.Events);
        Assert.Equal(first + 1, s.LastEpoch);
        // the same slots offered again: they are taken, nothing new
        Assert.Empty(s.Decide(new ScheduleLeases(Slots("n1", 0, 1), T0)).Events);
    }

    static SweepState CrossNode(int dp) =>
        PrepareDatasets(Step(SweepState.Empty, new SubmitSweep(TestSweeps.Named("wide", dp) with { AllowCrossNode = true })));

    [Fact]
    public void With_allow_cross_node_a_run_no_node_can_hold_takes_the_fewest_nodes_with_a_data_plane()
    {
        var s = CrossNode(dp: 3);
        var free = ImmutableArray.Create([.. Slots("a", 0), .. Slots("b", 0, 1), .. Slots("c", 0)]);
        // no data plane anywhere: it waits as before
        Assert.Empty(s.Decide(new ScheduleLeases(free, T0)).Events);
        // the node with the most free slots leads (rank 0 reports), then the next
        var lease = Assert.Single(s.Decide(new ScheduleLeases(free, T0, ["a", "b", "c"])).Events.Cast<RunLeased>());
        Assert.Equal("b", lease.NodeId);
        Assert.Equal([0, 1], lease.Slots.ToArray());
        Assert.Equal([new SlotRef("a", 0)], lease.Others!.Value.ToArray());
        s = s.Apply(lease);
        var held = s.Runs[lease.RunId].Lease!;
        Assert.Equal(["b", "a"], held.Nodes.ToArray());
        Assert.True(held.Spans("a") && !held.Spans("c"));
        // its slots are taken on every node it spans
        Assert.Equal(3, s.LeasedSlots.Count());
        Assert.Contains(new SlotRef("a", 0), s.LeasedSlots);
        // the snapshot keeps the other ranks
        Assert.Equal(held, CoordinatorSnapshot.From(s).ToState().Runs[lease.RunId].Lease);
        // a node without a data plane takes no rank of it
        var s2 = CrossNode(dp: 2);
        Assert.Empty(s2.Decide(new ScheduleLeases([.. Slots("a", 0), .. Slots("c", 0)], T0, ["a"])).Events);
    }

    [Fact]
    public void With_allow_cross_node_a_run_one_node_can_hold_still_goes_to_one_node()
    {
        var s = CrossNode(dp: 2);
        var lease = Assert.Single(s.Decide(new ScheduleLeases([.. Slots("a", 0), .. Slots("b", 0, 1)], T0, ["a", "b"])).Events.Cast<RunLeased>());
        Assert.Equal("b", lease.NodeId);
        Assert.True(lease.Others is null || lease.Others.Value.IsEmpty);
    }

    [Fact]
    public void A_cross_node_lease_is_lost_when_any_of_its_nodes_is_and_reports_count_only_from_the_leader()
    {
        var s = CrossNode(dp: 2);
        var lease = Assert.Single(s.Decide(new ScheduleLeases([.. Slots("a", 0), .. Slots("b", 0)], T0, ["a", "b"])).Events.Cast<RunLeased>());
        s = s.Apply(lease);
        var follower = lease.Others!.Value.Single().NodeId;
        Assert.True(s.Decide(new ReportRunStarted(lease.RunId, lease.Epoch, follower, 0)).Rejected);
        s = Step(s, new ReportRunStarted(lease.RunId, lease.Epoch, lease.NodeId, 0));
        s = Step(s, new LeaseLost(lease.RunId, lease.Epoch, $"its rank node {follower} left the cluster"));
        Assert.Equal(RunStatus.Queued, s.Runs[lease.RunId].Status);
        Assert.Empty(s.LeasedSlots);
    }

    [Fact]
    public void Data_parallel_runs_need_all_their_slots_on_one_node()
    {
        var s = Submitted(dp: 2);
        Assert.Empty(s.Decide(new ScheduleLeases([new SlotRef("a", 0), new SlotRef("b", 0)], T0)).Events);
        var lease = Assert.Single(s.Decide(new ScheduleLeases([.. Slots("a", 0), .. Slots("b", 0, 1)], T0)).Events.Cast<RunLeased>());
        Assert.Equal("b", lease.NodeId);
        Assert.Equal([0, 1], lease.Slots.ToArray());
    }

    [Fact]
    public void A_full_run_lifecycle_records_checkpoints_and_completes()
    {
        var s = Submitted();
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        var run = s.Runs.Values.Single(r => r.HoldsLease);
        var id = run.RunId;
        var epoch = run.Lease!.Epoch;
        s = Step(s, new ReportRunStarted(id, epoch, "n1", 0));
        Assert.Equal(RunStatus.Running, s.Runs[id].Status);
        s = Step(s, Checkpoint(s, id, epoch, 5));
        Assert.Equal(new CheckpointRef(5, epoch, "sha5"), s.Runs[id].Checkpoint);
        Assert.Contains("older than", s.Decide(Checkpoint(s, id, epoch, 3)).Rejection);
        s = Step(s, new ReportRunCompleted(id, epoch, Holder(s, id), 20, "step cap", "results-sha"));
        Assert.Equal(RunStatus.Completed, s.Runs[id].Status);
        Assert.Equal((epoch, "results-sha"), (s.Runs[id].ResultsEpoch!.Value, s.Runs[id].ResultsSha256));
        Assert.Null(s.Runs[id].Lease);
        Assert.Empty(s.LeasedSlots);
    }

    [Fact]
    public void Reports_from_a_stale_lease_are_rejected()
    {
        var s = Submitted();
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        var id = s.Runs.Values.Single(r => r.HoldsLease).RunId;
        var e1 = s.Runs[id].Lease!.Epoch;
        s = Step(s, new ReportRunStarted(id, e1, "n1", 0));
        s = Step(s, Checkpoint(s, id, e1, 5));
        // node n1 is cut off; its lease is declared lost and the run moves to n2 under a new epoch
        s = Step(s, new LeaseLost(id, e1, "its node left the cluster"));
        Assert.Equal(RunStatus.Queued, s.Runs[id].Status);
        s = Step(s, new ScheduleLeases(Slots("n2", 0), T0));
        var e2 = s.Runs[id].Lease!.Epoch;
        Assert.True(e2 > e1);
        Assert.Equal("n2", s.Runs[id].Lease!.NodeId);
        // the old holder comes back and reports: every report under the old epoch is refused
        Assert.Contains("stale lease", s.Decide(Checkpoint(s, id, e1, 10)).Rejection);
        Assert.Contains("stale lease", s.Decide(new ReportRunCompleted(id, e1, Holder(s, id), 20, "step cap", "x")).Rejection);
        Assert.Contains("stale lease", s.Decide(new ReportRunFailed(id, e1, "n1", "boom", T0)).Rejection);
        Assert.Contains("stale lease", s.Decide(new LeaseLost(id, e1, "again")).Rejection);
        // the new holder resumes from the checkpoint the old lease recorded, and its own count from there
        Assert.Equal(new CheckpointRef(5, e1, "sha5"), s.Runs[id].Checkpoint);
        s = Step(s, Checkpoint(s, id, e2, 10));
        Assert.Equal(e2, s.Runs[id].Checkpoint!.Epoch);
        // after completion even the current epoch cannot report again
        s = Step(s, new ReportRunCompleted(id, e2, Holder(s, id), 20, "step cap", "x"));
        Assert.Contains("stale lease", s.Decide(Checkpoint(s, id, e2, 25)).Rejection);
    }

    [Fact]
    public void A_report_from_a_node_that_does_not_hold_the_lease_is_refused()
    {
        var s = Submitted();
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        var run = s.Runs.Values.Single(r => r.HoldsLease);
        var epoch = run.Lease!.Epoch;
        // same run, same epoch, another node (a second coordinator's lease, or a forged report)
        Assert.Contains("held by n1, not n2", s.Decide(new ReportRunCompleted(run.RunId, epoch, "n2", 20, "step cap", "x")).Rejection);
        Assert.Contains("held by n1, not n2", s.Decide(new ReportCheckpoint(run.RunId, epoch, "n2", 5, "sha", 1)).Rejection);
        Assert.Contains("held by n1, not n2", s.Decide(new ReportRunFailed(run.RunId, epoch, "n2", "boom", T0)).Rejection);
        Assert.False(s.Decide(new ReportRunCompleted(run.RunId, epoch, "n1", 20, "step cap", "x")).Rejected);
    }

    [Fact]
    public void A_failed_attempt_is_retried_after_backoff_and_a_poison_run_fails_for_good()
    {
        var policy = new SchedulingPolicy(3, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), 3, TimeSpan.FromMinutes(10));
        var s = Submitted();
        var id = s.RunsOf("tiny").First().RunId;
        var now = T0;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            s = Step(s, new ScheduleLeases(Slots("n1", 0), now));
            var lease = s.Runs[id].Lease!;
            // one node only: failures count against the run, nothing is quarantined
            s = Step(s, new ReportRunFailed(id, lease.Epoch, "n1", "NaN loss", now), policy);
            if (attempt < 3)
            {
                Assert.Equal(RunStatus.Queued, s.Runs[id].Status);
                Assert.Equal(now + policy.Backoff(attempt), s.Runs[id].RetryAt);
                // not before the backoff: the slot goes to the next run instead
                var early = s.Decide(new ScheduleLeases(Slots("n1", 0), now)).Events.Cast<RunLeased>().Single();
                Assert.NotEqual(id, early.RunId);
                now = s.Runs[id].RetryAt!.Value;
            }
        }
        Assert.Equal(RunStatus.Failed, s.Runs[id].Status);
        Assert.Contains("failed 3 times", s.Runs[id].Error);
        Assert.Empty(s.Nodes.Values.Where(n => n.QuarantinedUntil != null));
        // the sweep goes on with the other runs
        Assert.Single(s.Decide(new ScheduleLeases(Slots("n1", 0), now)).Events);
    }

    [Fact]
    public void A_node_on_which_different_runs_keep_failing_is_quarantined_and_the_runs_are_not_charged()
    {
        var policy = new SchedulingPolicy(3, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), 3, TimeSpan.FromMinutes(10));
        var s = Submitted();
        var now = T0;
        var failed = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            s = Step(s, new ScheduleLeases(Slots("bad", 0), now));
            var run = s.Runs.Values.Single(r => r.HoldsLease);
            failed.Add(run.RunId);
            s = Step(s, new ReportRunFailed(run.RunId, run.Lease!.Epoch, "bad", "CUDA error: an illegal memory access", now, OtherNodes: 1), policy);
            now += TimeSpan.FromSeconds(1);
        }
        Assert.True(failed.Distinct().Count() >= 2);
        Assert.True(s.HealthOf("bad").QuarantinedAt(now));
        // the third failure quarantined the node instead of counting against its run
        Assert.Equal(0, s.Runs[failed[^1]].FailedAttempts);
        Assert.Empty(s.Decide(new ScheduleLeases(Slots("bad", 0, 1), now)).Events);
        Assert.NotEmpty(s.Decide(new ScheduleLeases(Slots("good", 0), now)).Events);
        // after the quarantine the node gets work again
        Assert.NotEmpty(s.Decide(new ScheduleLeases(Slots("bad", 0), now + TimeSpan.FromMinutes(11))).Events);
    }

    [Fact]
    public void A_checkpoint_resets_the_failure_count()
    {
        var s = Submitted();
        var id = s.RunsOf("tiny").First().RunId;
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        s = Step(s, new ReportRunFailed(id, s.Runs[id].Lease!.Epoch, "n1", "oom", T0));
        Assert.Equal(1, s.Runs[id].FailedAttempts);
        Assert.Equal(1, s.HealthOf("n1").Failures);
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0.AddMinutes(1)));
        s = Step(s, Checkpoint(s, id, s.Runs[id].Lease!.Epoch, 5));
        Assert.Equal(0, s.Runs[id].FailedAttempts);
        Assert.Equal(0, s.HealthOf("n1").Failures);
    }

    [Fact]
    public void Pause_starts_nothing_new_and_resume_starts_again()
    {
        var s = Submitted();
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        s = Step(s, new PauseSweep(null));
        Assert.True(s.Sweeps["tiny"].Paused);
        Assert.Empty(s.Decide(new ScheduleLeases(Slots("n1", 1), T0)).Events);
        Assert.Single(s.Runs.Values, r => r.HoldsLease); // the running run goes on
        Assert.Empty(s.Decide(new PauseSweep("tiny")).Events); // idempotent
        s = Step(s, new ResumeSweep("tiny"));
        Assert.Single(s.Decide(new ScheduleLeases(Slots("n1", 1), T0)).Events);
        Assert.Contains("unknown sweep 'nope'", s.Decide(new PauseSweep("nope")).Rejection);
    }

    [Fact]
    public void Stop_lets_running_runs_finish_then_the_sweep_gets_its_measurement_job()
    {
        var s = Submitted();
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        var running = s.Runs.Values.Single(r => r.HoldsLease);
        s = Step(s, new StopSweep("tiny"));
        Assert.Equal(3, s.Runs.Values.Count(r => r.Status == RunStatus.Cancelled));
        Assert.Null(s.Runs[running.RunId].StopRequested);
        Assert.False(s.AllRunsEnded("tiny"));
        Assert.Null(s.MeasureJob("tiny"));
        s = Step(s, new ReportRunCompleted(running.RunId, running.Lease!.Epoch, Holder(s, running.RunId), 20, "step cap", "x"));
        Assert.True(s.AllRunsEnded("tiny"));
        var measure = s.MeasureJob("tiny")!;
        Assert.Equal((JobKind.Measure, JobStatus.Queued), (measure.Kind, measure.Status));
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        s = Step(s, new ReportJobDone(measure.JobId, s.Jobs[measure.JobId].Lease!.Epoch, Holder(s, measure.JobId), null, null));
        Assert.True(s.Finished("tiny"));
    }

    [Fact]
    public void A_run_let_finish_by_stop_is_requeued_after_a_crash_but_nothing_else_starts()
    {
        var s = Submitted();
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        var running = s.Runs.Values.Single(r => r.HoldsLease);
        s = Step(s, new StopSweep("tiny"));
        // the node dies: its lease is lost; the run goes back to the queue, the cancelled ones stay cancelled
        s = Step(s, new LeaseLost(running.RunId, running.Lease!.Epoch, "node left"));
        Assert.Equal(RunStatus.Queued, s.Runs[running.RunId].Status);
        var lease = Assert.Single(s.Decide(new ScheduleLeases(Slots("n2", 0, 1), T0)).Events.Cast<RunLeased>());
        Assert.Equal(running.RunId, lease.RunId);
        s = s.Apply(lease);
        // a failure of it is retried too; completion ends the sweep
        s = Step(s, new ReportRunFailed(running.RunId, lease.Epoch, "n2", "oom", T0));
        Assert.Equal(RunStatus.Queued, s.Runs[running.RunId].Status);
        s = Step(s, new ScheduleLeases(Slots("n2", 0), T0.AddMinutes(1)));
        s = Step(s, new ReportRunCompleted(running.RunId, s.Runs[running.RunId].Lease!.Epoch, Holder(s, running.RunId), 20, "step cap", "x"));
        Assert.True(s.AllRunsEnded("tiny"));
    }

    [Fact]
    public void Cancel_asks_running_runs_to_end_now()
    {
        var s = Submitted();
        s = Step(s, new ScheduleLeases(Slots("n1", 0, 1), T0));
        s = Step(s, new CancelSweep(null));
        var stopping = s.Runs.Values.Where(r => r.HoldsLease).ToList();
        Assert.Equal(2, stopping.Count);
        Assert.All(stopping, r => Assert.Equal(StopKind.Cancel, r.StopRequested));
        var first = stopping[0];
        s = Step(s, new ReportRunStopped(first.RunId, first.Lease!.Epoch, Holder(s, first.RunId), 7, StopKind.Cancel));
        Assert.Equal(RunStatus.Cancelled, s.Runs[first.RunId].Status);
        // a lost lease of a cancelled sweep ends the run instead of requeueing it
        var second = stopping[1];
        s = Step(s, new LeaseLost(second.RunId, second.Lease!.Epoch, "node left"));
        Assert.Equal(RunStatus.Cancelled, s.Runs[second.RunId].Status);
        Assert.True(s.AllRunsEnded("tiny"));
    }

    [Fact]
    public void Suspend_checkpoints_and_frees_the_slot_and_resume_requeues()
    {
        var s = Submitted();
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        var id = s.Runs.Values.Single(r => r.HoldsLease).RunId;
        var epoch = s.Runs[id].Lease!.Epoch;
        s = Step(s, new ReportRunStarted(id, epoch, "n1", 0));
        var suffix = id.Split('/')[1];
        s = Step(s, new SuspendRun(suffix)); // a run can be named without its sweep prefix
        Assert.Equal(StopKind.Suspend, s.Runs[id].StopRequested);
        Assert.Contains("already stopping", s.Decide(new SuspendRun(id)).Rejection);
        s = Step(s, new ReportRunStopped(id, epoch, Holder(s, id), 8, StopKind.Suspend));
        Assert.Equal(RunStatus.Suspended, s.Runs[id].Status);
        Assert.Empty(s.LeasedSlots);
        // a suspended run is not scheduled, but the slot goes to another run
        var next = s.Decide(new ScheduleLeases(Slots("n1", 0), T0)).Events.Cast<RunLeased>().Single();
        Assert.NotEqual(id, next.RunId);
        Assert.Contains("not suspended", s.Decide(new ResumeRun(next.RunId)).Rejection);
        s = Step(s, new ResumeRun(id));
        Assert.Equal(RunStatus.Queued, s.Runs[id].Status);
        Assert.Contains("unknown run 'ghost'", s.Decide(new SuspendRun("ghost")).Rejection);
        Assert.Contains("not running", s.Decide(new SuspendRun(id)).Rejection);
    }

    /// <summary>Sweep <paramref name="name"/> submitted and its dataset job failed every attempt ("disk full").</summary>
    static (SweepState, JobInfo) DatasetFailedForGood(string name)
    {
        var policy = SchedulingPolicy.Default with { BackoffMin = TimeSpan.Zero, BackoffMax = TimeSpan.Zero };
        var s = Step(SweepState.Empty, new SubmitSweep(TestSweeps.Named(name)));
        var job = s.Jobs.Values.Single();
        for (var i = 0; i < policy.MaxAttempts; i++)
        {
            s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
            s = Step(s, new ReportJobFailed(job.JobId, s.Jobs[job.JobId].Lease!.Epoch, "n1", "disk full", T0), policy);
        }
        return (s, job);
    }

    [Fact]
    public void A_dataset_that_cannot_be_made_fails_its_runs_and_the_sweep_is_still_measured()
    {
        var (s, job) = DatasetFailedForGood("a");
        Assert.Equal(JobStatus.Failed, s.Jobs[job.JobId].Status);
        Assert.All(s.RunsOf("a"), r => Assert.Equal(RunStatus.Failed, r.Status));
        Assert.Contains("disk full", s.RunsOf("a").First().Error);
        Assert.NotNull(s.MeasureJob("a"));
    }

    /// <summary>
    /// A dataset that failed (disk full) fails its runs and the sweep is measured with none; once the disk is fixed,
    /// retry queues the dataset job and every run again with their failures forgotten, drops the stale measurement,
    /// and the sweep is measured again after the runs end. A cancelled sweep, a run that did not fail and an unknown
    /// name are refused.
    /// </summary>
    [Fact]
    public void Retry_queues_failed_runs_and_their_dataset_again_and_the_sweep_is_measured_again()
    {
        var (s, job) = DatasetFailedForGood("a");
        var measure = s.MeasureJob("a")!;
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        s = Step(s, new ReportJobDone(measure.JobId, s.Jobs[measure.JobId].Lease!.Epoch, "n1", "no run completed", null));
        Assert.True(s.Finished("a"));

        var one = s.RunsOf("a").First();
        Assert.Contains("unknown run or sweep 'nope'", s.Decide(new RetryFailed("nope")).Rejection);
        var d = s.Decide(new RetryFailed("a"));
        Assert.False(d.Rejected, d.Rejection);
        Assert.Equal(s.RunsOf("a").Count(), d.Events.OfType<RunRetried>().Count());
        Assert.Equal(job.JobId, Assert.Single(d.Events.OfType<JobRetried>()).JobId);
        Assert.StartsWith("4 failed runs queued again (and 1 failed dataset job)", CommandReplies.Sentence(d.Events));
        s = s.ApplyAll(d.Events);
        Assert.All(s.RunsOf("a"), x => Assert.Equal((RunStatus.Queued, 0, (string?)null), (x.Status, x.FailedAttempts, x.Error)));
        Assert.Equal(JobStatus.Queued, s.Jobs[job.JobId].Status);
        Assert.Null(s.MeasureJob("a"));
        Assert.False(s.Finished("a"));
        Assert.Contains($"run {one.RunId} is queued, not failed", s.Decide(new RetryFailed(one.RunId)).Rejection);

        // the dataset is made this time; every run completes; the sweep is measured again
        s = PrepareDatasets(s);
        while (s.RunsOf("a").Any(x => x.Status == RunStatus.Queued))
        {
            s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
            var leased = s.RunsOf("a").Single(x => x.HoldsLease);
            s = Step(s, new ReportRunCompleted(leased.RunId, leased.Lease!.Epoch, "n1", 20, "step cap", "sha"));
        }
        Assert.Equal(JobStatus.Queued, s.MeasureJob("a")!.Status);

        var cancelled = Step(s, new CancelSweep("a"));
        Assert.Contains("cancelled", cancelled.Decide(new RetryFailed("a")).Rejection);
    }

    /// <summary>
    /// A plan that arrives as a message (not from a checked sweep file) is checked before anything is journalled: a
    /// sweep name with '..' or a path, a run of another sweep, a run id that is a path, a run pointing at its own
    /// profiles or tokenizer files.
    /// </summary>
    [Fact]
    public void A_forged_plan_with_paths_in_its_names_or_files_of_its_own_is_refused()
    {
        var plan = TestSweeps.Named("ok");
        var run = plan.Runs[0];
        (string Why, Sweeps.SweepPlan Plan)[] forged =
        [
            ("not a valid name", plan with { Name = "../../etc", Runs = [.. plan.Runs.Select(r => r with { Sweep = "../../etc" })] }),
            ("not a valid name", plan with { Name = "/abs", Runs = [.. plan.Runs.Select(r => r with { Sweep = "/abs" })] }),
            ("belongs to sweep 'other'", plan with { Runs = plan.Runs.SetItem(0, run with { Sweep = "other" }) }),
            ("not a valid name", plan with { Runs = plan.Runs.SetItem(0, run with { RunName = ".." }) }),
            ("its own profiles or tokenizer", plan with { Runs = plan.Runs.SetItem(0, run with { Profiles = "/etc/passwd" }) }),
            ("no dataset of this sweep", plan with { Runs = plan.Runs.SetItem(0, run with { Dataset = run.Dataset! with { Seed = 999 } }) }),
        ];
        foreach (var (why, p) in forged)
        {
            var d = SweepState.Empty.Decide(new SubmitSweep(p));
            Assert.True(d.Rejected, why);
            Assert.Contains(why, d.Rejection);
        }
        Assert.False(SweepState.Empty.Decide(new SubmitSweep(plan)).Rejected);
    }

    [Fact]
    public void Only_a_completed_run_is_probed_and_its_probes_are_numbered()
    {
        var s = Submitted();
        var id = s.RunsOf("tiny").First().RunId;
        var request = new ProbeRequest("all", 100);
        Assert.Contains("only a completed run", s.Decide(new SubmitProbe(id, request)).Rejection);
        s = Step(s, new ScheduleLeases(Slots("n1", 0), T0));
        var epoch = s.Runs[id].Lease!.Epoch;
        s = Step(s, Checkpoint(s, id, epoch, 20));
        s = Step(s, new ReportRunCompleted(id, epoch, Holder(s, id), 20, "step cap", "x"));
        s = Step(s, new SubmitProbe(id, request));
        s = Step(s, new SubmitProbe(id, request));
        Assert.Equal([$"probe:{id}:1", $"probe:{id}:2"], s.Jobs.Values.Where(j => j.Kind == JobKind.Probe).Select(j => j.JobId).Order());
    }

    [Fact]
    public void Two_sweeps_share_the_slots_in_submission_order()
    {
        var s = Submitted("first");
        s = PrepareDatasets(Step(s, new SubmitSweep(TestSweeps.Named("second"))));
        var leases = s.Decide(new ScheduleLeases(Slots("n", 0, 1, 2, 3, 4, 5), T0)).Events.Cast<RunLeased>().ToList();
        Assert.Equal(6, leases.Count);
        Assert.Equal(4, leases.Count(l => l.RunId.StartsWith("first/")));
        Assert.Equal(leases.Select(l => l.Epoch).Distinct().Count(), leases.Count);
    }

    [Fact]
    public void Replaying_the_events_or_a_snapshot_gives_the_same_state()
    {
        var events = new List<ISweepEvent>();
        var s = SweepState.Empty;
        void Do(ISweepCommand c) { var d = s.Decide(c); Assert.False(d.Rejected, d.Rejection); events.AddRange(d.Events); s = s.ApplyAll(d.Events); }
        Do(new SubmitSweep(TestSweeps.Plan()));
        Do(new ScheduleLeases(Slots("n1", 0), T0));
        Do(new ReportJobDone(s.Jobs.Values.Single().JobId, s.Jobs.Values.Single().Lease!.Epoch, Holder(s, s.Jobs.Values.Single().JobId), null, Fp));
        Do(new ScheduleLeases(Slots("n1", 0, 1), T0));
        var id = s.Runs.Values.First(r => r.HoldsLease).RunId;
        Do(Checkpoint(s, id, s.Runs[id].Lease!.Epoch, 5));
        Do(new ReportRunFailed(s.Runs.Values.Last(r => r.HoldsLease).RunId, s.Runs.Values.Last(r => r.HoldsLease).Lease!.Epoch, "n1", "oom", T0));
        Do(new PauseSweep(null));
        var replayed = SweepState.Empty.ApplyAll(events);
        Assert.Equal(Describe(s), Describe(replayed));
        Assert.Equal(Describe(s), Describe(CoordinatorSnapshot.From(s).ToState()));
    }

    static string Describe(SweepState s) =>
        string.Join("\n", s.Runs.Values.Select(r => $"{r.RunId} {r.Status} {r.Lease?.Epoch} {r.Lease?.NodeId} {r.Checkpoint} {r.FailedAttempts} {r.RetryAt}"))
        + "\n" + string.Join("\n", s.Jobs.Values.Select(j => $"{j.JobId} {j.Status} {j.Lease?.Epoch}"))
        + "\n" + string.Join("\n", s.Datasets.Values.Select(d => $"{d.Config.Id} {d.Fingerprint}"))
        + "\n" + string.Join("\n", s.Nodes.Select(n => $"{n.Key} {n.Value.Failures} {string.Join(",", n.Value.FailedTargets)}"))
        + $"\n{s.LastEpoch} {string.Join(",", s.Sweeps.Values.Select(x => $"{x.Name}:{x.Paused}:{x.EndedRuns}"))}";
}
