using ActorLab.Model.Probes;
using Akka.Actor;
using Akka.Event;

namespace ActorLab.Actors.Probes;

/// <summary>Shape of a probe sweep run by <see cref="ProbeSweepActor"/>.</summary>
public sealed record ProbeSweepSpec
{
    public required IReadOnlyList<ProbeJob> Jobs { get; init; }
    /// <summary>Probe actors (slots) working in parallel.</summary>
    public int Parallel { get; init; } = 1;
    /// <summary>Tries per job before it is reported as failed.</summary>
    public int MaxAttempts { get; init; } = 2;
    /// <summary>Where probes.csv and the heatmaps go (null: results are only returned).</summary>
    public string? OutDir { get; init; }
    public string Title { get; init; } = "probe loss relative to baseline";
}

/// <summary>
/// Runs a probe sweep: spreads the jobs over <see cref="ProbeSweepSpec.Parallel"/> child <see cref="ProbeActor"/>s
/// (one job per slot at a time), retries a failed job (on another slot when there is one) up to
/// <see cref="ProbeSweepSpec.MaxAttempts"/> tries, then records it as failed and goes on, so one bad job never
/// loses the others. A slot that dies mid-job counts as a failed attempt and is replaced. When every job has
/// settled it writes the report (CSV + heatmaps) and tells the starter (the actor that created it, or the
/// <c>replyTo</c> given) <see cref="ProbeSweepFinished"/>, then stops. Progress goes to the starter as well.
/// </summary>
public sealed class ProbeSweepActor : ReceiveActor
{
    readonly ProbeSweepSpec spec;
    readonly IProbeJobExecutor executor;
    readonly IActorRef replyTo;
    readonly ILoggingAdapter log = Context.GetLogger();
    readonly Queue<(ProbeJob Job, int Attempt, IActorRef? Avoid)> queue = new();
    readonly Dictionary<IActorRef, (ProbeJob Job, int Attempt)> busy = new();
    readonly List<IActorRef> idle = new();
    readonly List<ProbeResult> results = new();
    readonly List<ProbeJobFailure> failures = new();
    int slotCounter;

    public ProbeSweepActor(ProbeSweepSpec spec, IProbeJobExecutor executor, IActorRef? replyTo)
    {
        if (spec.Parallel < 1) throw new ArgumentOutOfRangeException(nameof(spec), "parallel must be >= 1");
        if (spec.MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(spec), "max attempts must be >= 1");
        this.spec = spec;
        this.executor = executor;
        this.replyTo = replyTo ?? Context.Parent;

        Receive<ProbeJobSucceeded>(m =>
        {
            if (!Release(Sender, m.Job)) return;
            results.Add(m.Result);
            Report(m.Job, true, $"loss {m.Result.ProbeLoss:0.000} (baseline {m.Result.BaselineLoss:0.000}), {m.Elapsed.TotalSeconds:0.0}s");
            Pump();
        });
        Receive<ProbeJobFailed>(m =>
        {
            if (!Release(Sender, m.Job)) return;
            Retry(m.Job, m.Attempt, m.Error, Sender);
            Pump();
        });
        Receive<Terminated>(t =>
        {
            idle.Remove(t.ActorRef);
            if (busy.Remove(t.ActorRef, out var job))
                Retry(job.Job, job.Attempt, "probe actor stopped during the job", t.ActorRef);
            if (!Finished) idle.Add(NewSlot());
            Pump();
        });
        Receive<GetProbeSweepStatus>(_ =>
            Sender.Tell(new ProbeSweepStatus(spec.Jobs.Count, results.Count, failures.Count, busy.Count, queue.Count)));
    }

    public static Props Props(ProbeSweepSpec spec, IProbeJobExecutor executor, IActorRef? replyTo = null) =>
        Akka.Actor.Props.Create(() => new ProbeSweepActor(spec, executor, replyTo));

    // A slot that fails must not take its job down with it: stop it (Terminated reassigns its job), never restart in place.
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        foreach (var job in spec.Jobs) queue.Enqueue((job, 1, null));
        var slots = Math.Min(spec.Parallel, Math.Max(1, spec.Jobs.Count));
        for (int i = 0; i < slots; i++) idle.Add(NewSlot());
        Pump();
    }

    bool Finished => results.Count + failures.Count == spec.Jobs.Count;

    IActorRef NewSlot()
    {
        var slot = Context.ActorOf(ProbeActor.Props(executor, Context.System), $"probe-slot-{slotCounter++}");
        Context.Watch(slot);
        return slot;
    }

    bool Release(IActorRef slot, ProbeJob job)
    {
        if (!busy.TryGetValue(slot, out var running) || running.Job != job) return false; // stale reply
        busy.Remove(slot);
        idle.Add(slot);
        return true;
    }

    void Retry(ProbeJob job, int attempt, string error, IActorRef failedOn)
    {
        if (attempt < spec.MaxAttempts)
        {
            log.Warning("probe job {0} failed (attempt {1}/{2}): {3}; retrying", job.Key, attempt, spec.MaxAttempts, error);
            queue.Enqueue((job, attempt + 1, failedOn));
        }
        else
        {
            log.Error("probe job {0} failed {1} times, giving up: {2}", job.Key, attempt, error);
            failures.Add(new ProbeJobFailure(job, attempt, error));
            Report(job, false, error);
        }
    }

    void Report(ProbeJob job, bool ok, string detail) =>
        replyTo.Tell(new ProbeSweepProgress(results.Count + failures.Count, failures.Count, spec.Jobs.Count, job, ok, detail));

    void Pump()
    {
        while (queue.Count > 0 && idle.Count > 0)
        {
            var (job, attempt, avoid) = queue.Dequeue();
            // A retry goes to a different slot than the one it failed on, when another is free.
            var slot = idle.FirstOrDefault(s => !s.Equals(avoid)) ?? idle[0];
            idle.Remove(slot);
            busy[slot] = (job, attempt);
            slot.Tell(new RunProbeJob(job, attempt));
        }
        if (Finished && busy.Count == 0) Complete();
    }

    void Complete()
    {
        IReadOnlyList<string> files = [];
        if (spec.OutDir != null && results.Count > 0)
        {
            try { files = ProbeSweep.WriteReport(spec.OutDir, results, spec.Title); }
            catch (Exception e)
            {
                log.Error(e, "writing the probe report to {0} failed", spec.OutDir);
                failures.Add(new ProbeJobFailure(new ProbeJob(-1, "report", "report"), 1, $"{e.GetType().Name}: {e.Message}"));
            }
        }
        replyTo.Tell(new ProbeSweepFinished(results.ToList(), failures.ToList(), files));
        Context.Stop(Self);
    }
}
