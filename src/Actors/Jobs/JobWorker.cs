using Akka.Actor;
using Akka.Event;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Node;
using ActorLab.Actors.Training;
using ActorLab.Model.Common;
using ActorLab.Model.Storage;

namespace ActorLab.Actors.Jobs;

/// <summary>
/// Does one leased job on a slot: prepare a dataset (build it into this node's cache and fingerprint it), measure a
/// sweep's capacity, or probe a run. The work runs in a task with a cancellation token (a cancel really cancels:
/// it is checked between the job's stages); the outcome is piped back and reported to the node agent, which
/// delivers it to the coordinator. The worker stops itself when done.
/// </summary>
public sealed class JobWorker : ReceiveActor
{
    /// <summary>Node-local: sent to the parent when the job's slot is free again.</summary>
    public sealed record JobFreed(string JobId, long Epoch);

    sealed record Finished(DatasetFingerprint? Dataset, string? Error, Exception? Failure);

    readonly CancellationTokenSource _cancel = new();
    bool _cancelled;

    public static Props Props(StartJob job, ITrainingBackend backend, int parallel) =>
        Akka.Actor.Props.Create(() => new JobWorker(job, backend, parallel));

    public JobWorker(StartJob job, ITrainingBackend backend, int parallel)
    {
        var log = Context.GetLogger();
        var token = _cancel.Token;
        log.Info("job={0} epoch={1} kind={2} event=started", job.JobId, job.Epoch, job.Kind);
        Task.Run(() =>
        {
            switch (job.Kind)
            {
                case JobKind.PrepareDataset:
                    return new Finished(backend.PrepareDataset(job.Spec.Dataset!, job.Spec.Expected, token), null, null);
                case JobKind.Measure:
                    try
                    {
                        backend.MeasureCapacity(job.Spec.Sweep!, job.Spec.Runs, job.Spec.Datasets, job.Spec.Measure ?? Sweeps.SweepMeasure.Default, token);
                        return new Finished(null, null, null);
                    }
                    catch (UserInputException e)
                    {
                        // nothing to measure (no run completed, every run skipped): a result, not a failure to retry
                        return new Finished(null, e.Message, null);
                    }
                case JobKind.Probe:
                    backend.Probe(job.Spec, parallel, token);
                    return new Finished(null, null, null);
                default:
                    throw new ArgumentOutOfRangeException(nameof(job), job.Kind.ToString());
            }
        }, token).PipeTo(Self, failure: e => new Finished(null, null, e is AggregateException { InnerException: { } i } ? i : e));

        Receive<Finished>(f =>
        {
            if (_cancelled) log.Info("job={0} epoch={1} event=cancelled", job.JobId, job.Epoch);
            else if (f.Failure is { } e)
            {
                log.Error(e, "job={0} epoch={1} event=failed", job.JobId, job.Epoch);
                Context.Parent.Tell(new JobFailedReport(job.JobId, job.Epoch, $"{e.GetType().Name}: {e.Message}"));
            }
            else
            {
                log.Info("job={0} epoch={1} event=done{2}", job.JobId, job.Epoch, f.Error != null ? $" result=\"{f.Error}\"" : "");
                Context.Parent.Tell(new JobDoneReport(job.JobId, job.Epoch, f.Error, f.Dataset));
            }
            Context.Parent.Tell(new JobFreed(job.JobId, job.Epoch));
            Context.Stop(Self);
        });
        Receive<StopLease>(s =>
        {
            if (s.Id != job.JobId || s.Epoch != job.Epoch) return;
            _cancelled = true;
            _cancel.Cancel();
        });
    }

    protected override void PostStop() => _cancel.Cancel();
}
