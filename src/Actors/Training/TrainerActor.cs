using System.Diagnostics;
using System.Globalization;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Data;
using ActorLab.Actors.Node;
using ActorLab.Model.Qa;

namespace ActorLab.Actors.Training;

/// <summary>
/// One trainer slot (a CUDA device or a CPU slot). Runs on `actorlab.trainer-dispatcher` (a thread of its own),
/// since each step blocks in native code. It trains one step per message, so a stop request is seen between
/// steps; batches come from its own <see cref="DataGeneratorActor"/>. Rank 0 of a run evaluates, checkpoints and
/// reports to the coordinator, every report carrying the lease epoch (fencing).
/// </summary>
public sealed class TrainerActor : ReceiveActor
{
    /// <summary>Node-local: train rank <see cref="Rank"/> of this run in this group (never crosses the wire).</summary>
    public sealed record Assign(StartRun Run, int Rank, RunGroup Group);

    /// <summary>Node-local: sent to the parent when the slot is free again.</summary>
    public sealed record SlotFreed(int Slot, string RunId, long Epoch);

    sealed class TrainNext
    {
        public static readonly TrainNext Instance = new();
    }

    public const string DispatcherId = "actorlab.trainer-dispatcher";

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly int _slot;
    readonly ITrainingBackend _backend;
    readonly int _workers;
    readonly int _readAhead;

    // the current assignment
    Assign? _job;
    IRunTrainer? _trainer;
    IActorRef? _data;
    readonly Queue<BatchReady> _batches = new();
    bool _waitingForBatch;
    long _lastCheckpointStep = -1;
    long _lastEvalStep = -1;
    double _lastLoss = double.NaN;
    ProgressLog? _progress;
    readonly Stopwatch _sinceReport = new();
    long _stepsSinceReport;
    HashSet<long> _evalSteps = [];

    public static Props Props(int slot, ITrainingBackend backend, int workers, int readAhead) =>
        Akka.Actor.Props.Create(() => new TrainerActor(slot, backend, workers, readAhead)).WithDispatcher(DispatcherId);

    public TrainerActor(int slot, ITrainingBackend backend, int workers, int readAhead)
    {
        _slot = slot;
        _backend = backend;
        _workers = workers;
        _readAhead = readAhead;
        Idle();
    }

    StartRun Run => _job!.Run;
    bool Leader => _job!.Rank == 0;

    void Idle()
    {
        Receive<Assign>(Begin);
        Receive<StopRun>(_ => { });
        Receive<BatchReady>(_ => { });
        Receive<TrainNext>(_ => { });
        Receive<DataGeneratorActor.DataFailed>(_ => { });
    }

    void Training()
    {
        Receive<BatchReady>(b =>
        {
            _batches.Enqueue(b);
            if (_waitingForBatch)
            {
                _waitingForBatch = false;
                Self.Tell(TrainNext.Instance);
            }
        });
        Receive<TrainNext>(_ => Guarded(TrainOneStep));
        Receive<StopRun>(s =>
        {
            if (s.RunId == Run.RunId && s.Epoch == Run.Epoch)
                _job!.Group.RequestStop(s.Kind == StopKind.Cancel ? GroupStop.Cancel : GroupStop.Suspend);
            if (_job!.Group.WorldSize == 1 && _waitingForBatch) Guarded(() => StopNow(_job.Group.AgreedStop!.Value));
        });
        Receive<DataGeneratorActor.DataFailed>(f => Fail($"data generator: {f.Error}"));
        Receive<Assign>(a => _log.Warning("slot {0} is busy with {1}; ignoring {2}", _slot, Run.RunId, a.Run.RunId));
    }

    void Begin(Assign job)
    {
        _job = job;
        _batches.Clear();
        _waitingForBatch = false;
        Become(Training);
        Guarded(() =>
        {
            var run = job.Run;
            _evalSteps = [.. EvalSchedule.Steps(run.Training.EvalSteps, run.Training.MaxSteps)];
            _trainer = _backend.OpenTrainer(run, job.Rank, job.Group.WorldSize > 1 ? job.Group : null);
            var start = _trainer.Step;
            _lastCheckpointStep = start;
            _lastEvalStep = -1;
            if (Leader)
            {
                _progress = new ProgressLog(Path.Combine(run.RunDir, "progress.csv"));
                _progress.Write(run.Epoch, "start", start, double.NaN);
                _progress.Flush();
                run.Coordinator.Tell(new ReportRunStarted(run.RunId, run.Epoch, start));
            }
            _log.Info("run={0} epoch={1} rank={2}/{3} slot={4} event=started step={5}", run.RunId, run.Epoch, job.Rank, job.Group.WorldSize, _slot, start);
            if (start >= run.Training.MaxSteps)
            {
                Finish(GroupStop.Complete, "step cap");
                return;
            }
            var backend = _backend;
            var rank = job.Rank;
            _data = Context.ActorOf(DataGeneratorActor.Props(() => backend.OpenBatches(run, rank), start, _workers, _readAhead), $"data-{run.Epoch}");
            _data.Tell(new BatchRequest(_readAhead));
            _sinceReport.Restart();
            _stepsSinceReport = 0;
            Self.Tell(TrainNext.Instance);
        });
    }

    void TrainOneStep()
    {
        if (_trainer == null) return;
        if (_batches.Count == 0)
        {
            _waitingForBatch = true;
            return;
        }
        var batch = _batches.Dequeue();
        _data!.Tell(new BatchRequest(1));
        var expected = _trainer.Step;
        if (batch.Index != expected)
            throw new InvalidOperationException($"batch {batch.Index} arrived for step {expected + 1}");
        _lastLoss = _trainer.TrainStep(batch.Batch);
        var step = _trainer.Step;
        _stepsSinceReport++;
        var training = Run.Training;
        if (Leader)
        {
            _progress!.Write(Run.Epoch, "step", step, _lastLoss);
            if (_sinceReport.Elapsed >= TimeSpan.FromSeconds(1))
            {
                var rate = _stepsSinceReport / _sinceReport.Elapsed.TotalSeconds;
                Run.Coordinator.Tell(new RunProgress(Run.RunId, Run.Epoch, step, _lastLoss, rate));
                _sinceReport.Restart();
                _stepsSinceReport = 0;
            }
            if (_evalSteps.Contains(step)) Evaluate(step);
            if (step % training.CheckpointEvery == 0 || _evalSteps.Contains(step)) Checkpoint(step);
        }
        if (step >= training.MaxSteps)
        {
            Finish(GroupStop.Complete, "step cap");
            return;
        }
        if (_job!.Group.AgreedStop is { } stop)
        {
            StopNow(stop);
            return;
        }
        Self.Tell(TrainNext.Instance);
    }

    void Evaluate(long step)
    {
        var losses = _trainer!.Evaluate();
        _lastEvalStep = step;
        Run.Coordinator.Tell(new EvalReport(Run.RunId, Run.Epoch, step, losses.ToImmutableSortedDictionary()));
        _log.Info("run={0} epoch={1} event=eval step={2} {3}", Run.RunId, Run.Epoch, step,
            string.Join(" ", losses.Select(kv => $"{kv.Key}={kv.Value.ToString("F4", CultureInfo.InvariantCulture)}")));
        var c = Run.Training;
        if (c.ConvergenceEnabled && step >= c.ConvergenceMinStep && _trainer.Converged)
            _job!.Group.RequestStop(GroupStop.Complete);
    }

    void Checkpoint(long step)
    {
        if (step == _lastCheckpointStep && step != 0) return;
        var path = _trainer!.SaveCheckpoint();
        _lastCheckpointStep = step;
        _progress!.Write(Run.Epoch, "checkpoint", step, _lastLoss);
        _progress.Flush();
        Run.Coordinator.Tell(new ReportCheckpoint(Run.RunId, Run.Epoch, step, path, _lastLoss));
    }

    void StopNow(GroupStop stop)
    {
        switch (stop)
        {
            case GroupStop.Complete:
                Finish(stop, "converged");
                break;
            case GroupStop.Suspend:
                if (Leader && _trainer!.Step > _lastCheckpointStep) Checkpoint(_trainer.Step);
                if (Leader) Run.Coordinator.Tell(new ReportRunStopped(Run.RunId, Run.Epoch, _trainer!.Step, StopKind.Suspend));
                End("suspended");
                break;
            case GroupStop.Cancel:
                if (Leader) Run.Coordinator.Tell(new ReportRunStopped(Run.RunId, Run.Epoch, _trainer!.Step, StopKind.Cancel));
                End("cancelled");
                break;
        }
    }

    void Finish(GroupStop _, string reason)
    {
        var step = _trainer!.Step;
        if (Leader)
        {
            // capacity reads the final losses: evaluate and keep the final model unless that just happened
            if (_lastEvalStep != step) Evaluate(step);
            if (_lastCheckpointStep != step) Checkpoint(step);
            Run.Coordinator.Tell(new ReportRunCompleted(Run.RunId, Run.Epoch, step, reason));
        }
        End($"completed ({reason})");
    }

    void Fail(string error)
    {
        if (_job == null) return;
        _job.Group.Abort(error);
        if (Leader) Run.Coordinator.Tell(new ReportRunFailed(Run.RunId, Run.Epoch, error, DateTimeOffset.UtcNow));
        End($"failed: {error}");
    }

    /// <summary>Runs a piece of training; a failure of the model code fails this attempt (the coordinator retries).</summary>
    void Guarded(Action action)
    {
        try
        {
            action();
        }
        catch (RunGroupAbortedException e)
        {
            Fail(e.Message);
        }
        catch (Exception e) when (e is not ActorKilledException)
        {
            _log.Error(e, "run={0} epoch={1} rank={2} failed", _job?.Run.RunId, _job?.Run.Epoch, _job?.Rank);
            Fail($"{e.GetType().Name}: {e.Message}");
        }
    }

    void End(string how)
    {
        var job = _job!;
        _log.Info("run={0} epoch={1} rank={2} slot={3} event=ended how=\"{4}\" step={5}", job.Run.RunId, job.Run.Epoch, job.Rank, _slot, how, _trainer?.Step ?? -1);
        Release();
        Context.Parent.Tell(new SlotFreed(_slot, job.Run.RunId, job.Run.Epoch));
        _job = null;
        Become(Idle);
    }

    void Release()
    {
        if (_data != null) Context.Stop(_data);
        _data = null;
        _batches.Clear();
        _progress?.Dispose();
        _progress = null;
        try { _trainer?.Dispose(); } catch (Exception e) { _log.Warning("disposing the trainer: {0}", e.Message); }
        _trainer = null;
    }

    protected override void PostStop()
    {
        _job?.Group.Abort("trainer stopped");
        Release();
    }

    protected override void PreRestart(Exception reason, object message)
    {
        // an unexpected failure of the actor itself: the attempt fails, the coordinator retries with backoff
        if (_job != null) Fail($"trainer actor crashed: {reason.Message}");
        base.PreRestart(reason, message);
    }

    /// <summary>`progress.csv` in the run folder: every step trained and every checkpoint, per lease epoch.</summary>
    sealed class ProgressLog : IDisposable
    {
        readonly StreamWriter _w;

        public ProgressLog(string path)
        {
            var exists = File.Exists(path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            _w = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read));
            if (!exists) _w.WriteLine("epoch,kind,step,loss,time");
        }

        public void Write(long epoch, string kind, long step, double loss) =>
            _w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{epoch},{kind},{step},{loss:R},{DateTimeOffset.UtcNow:O}"));

        public void Flush() => _w.Flush();

        public void Dispose() => _w.Dispose();
    }
}

/// <summary>Eval steps of a run: an explicit list, or SPEC 4's {int(exp(x)): x in linspace(ln 100, ln 1e5, 10)} then every 100000.</summary>
public static class EvalSchedule
{
    public static IEnumerable<long> Steps(IReadOnlyList<long> explicitSteps, long maxSteps)
    {
        if (explicitSteps.Count > 0) return explicitSteps.Where(s => s <= maxSteps);
        var steps = new SortedSet<long>();
        for (var i = 0; i < 10; i++)
        {
            var x = Math.Log(100) + (Math.Log(100000) - Math.Log(100)) * i / 9.0;
            steps.Add((long)(Math.Exp(x) + 1e-6)); // int(exp(x)), robust to exp(ln 1000) = 999.999...
        }
        for (var s = 100001L; s <= maxSteps; s += 100000) steps.Add(s);
        return steps.Where(s => s <= maxSteps);
    }
}
