using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Data;
using ActorLab.Actors.Node;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Training;

/// <summary>
/// One trainer slot (a CUDA device share or a CPU slot). It drives a run replica's <see cref="RunSession"/> loop in a
/// task of its own and stays free to take messages: opening the replica, the training loop (evaluation and
/// checkpoints included) and closing all run off the actor's thread, their ends piped back. Batches come from its
/// <see cref="DataGeneratorActor"/> through an <see cref="ActorBatchFeed"/>; what the session reports becomes
/// messages to the node agent, which delivers them to the coordinator (rank 0 reports; every report carries the
/// lease epoch). A suspend is agreed by all ranks at a step; a cancel also cancels the loop at once.
/// </summary>
public sealed class TrainerActor : ReceiveActor
{
    /// <summary>Node-local: train (global) rank <see cref="Rank"/> of this run in this group on this device.</summary>
    public sealed record Assign(StartRun Run, int Rank, RunGroup Group, string Device);

    /// <summary>Node-local: sent to the parent when the slot is free again.</summary>
    public sealed record SlotFreed(int Slot, string RunId, long Epoch);

    sealed record Opened(IRunReplica Replica);
    sealed record Ended(RunOutcome? Outcome, Exception? Error);
    sealed record Observed(object Message);
    sealed class Consumed
    {
        public static readonly Consumed Instance = new();
    }
    sealed record RestartFeed(long Position, bool TwoHopPhase);

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly int _slot;
    readonly ITrainingBackend _backend;
    readonly int _workers;
    readonly int _readAhead;

    Assign? _job;
    IRunReplica? _replica;
    ActorBatchFeed? _feed;
    IActorRef? _data;
    CancellationTokenSource? _cancel;
    bool _cancelAsked;
    int _generation;

    public static Props Props(int slot, ITrainingBackend backend, int workers, int readAhead) =>
        Akka.Actor.Props.Create(() => new TrainerActor(slot, backend, workers, readAhead));

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
        Receive<StopLease>(_ => { });
        Receive<BatchReady>(_ => { });
        Receive<Consumed>(_ => { });
        Receive<RestartFeed>(_ => { });
        Receive<Observed>(_ => { });
        Receive<DataGeneratorActor.DataFailed>(_ => { });
    }

    void Busy()
    {
        Receive<Opened>(OnOpened);
        Receive<Ended>(OnEnded);
        Receive<Observed>(o => Context.Parent.Tell(o.Message));
        Receive<BatchReady>(b =>
        {
            if (Sender.Equals(_data)) _feed?.Deliver(b.Index, b.Batch);
        });
        Receive<Consumed>(_ => _data?.Tell(new BatchRequest(1)));
        Receive<RestartFeed>(r => StartGenerator(r.Position, r.TwoHopPhase));
        Receive<DataGeneratorActor.DataFailed>(f =>
        {
            if (Sender.Equals(_data)) _feed?.Fail(f.Error);
        });
        Receive<StopLease>(s =>
        {
            if (s.Id != Run.RunId || s.Epoch != Run.Epoch) return;
            if (s.Kind == StopKind.Cancel)
            {
                _cancelAsked = true;
                _job!.Group.RequestStop(RunStop.Cancel);
                _cancel?.Cancel();
                _job.Group.Abort("the run was cancelled");
            }
            else _job!.Group.RequestStop(RunStop.Suspend);
        });
        Receive<Assign>(a => _log.Warning("slot {0} is busy with {1}; ignoring {2}", _slot, Run.RunId, a.Run.RunId));
    }

    void Begin(Assign job)
    {
        _job = job;
        _cancelAsked = false;
        _cancel = new CancellationTokenSource();
        Become(Busy);
        var backend = _backend;
        var group = job.Group.ForRank(job.Rank - job.Group.FirstRank);
        Task.Run(() => backend.OpenReplica(job.Run, job.Rank, group, job.Device))
            .PipeTo(Self, success: r => new Opened(r), failure: e => new Ended(null, Unwrap(e)));
    }

    void OnOpened(Opened o)
    {
        var job = _job!;
        if (_cancelAsked)
        {
            o.Replica.Dispose();
            Self.Tell(new Ended(new RunOutcome(RunEnd.Cancelled, o.Replica.StreamPosition, "cancelled", null, null), null));
            return;
        }
        _replica = o.Replica;
        var self = Self;
        _feed = new ActorBatchFeed(o.Replica.StreamPosition, () => self.Tell(Consumed.Instance), (p, phase) => self.Tell(new RestartFeed(p, phase)));
        StartGenerator(o.Replica.StreamPosition, o.Replica.TwoHopPhase);
        var replica = o.Replica;
        var feed = _feed;
        var observer = new Observer(self, job);
        var token = _cancel!.Token;
        _log.Info($"run={job.Run.RunId} epoch={job.Run.Epoch} rank={job.Rank}/{job.Group.WorldSize} slot={_slot} device={job.Device} event=started step={replica.StreamPosition}");
        Task.Factory.StartNew(() =>
        {
            try { return replica.Run(feed, observer, token); }
            finally
            {
                feed.Dispose();
                replica.Dispose();
            }
        }, TaskCreationOptions.LongRunning).PipeTo(Self, success: r => new Ended(r, null), failure: e => new Ended(null, Unwrap(e)));
    }

    /// <summary>(Re)starts the data generator at a stream position in a curriculum phase; batches of the old one are ignored.</summary>
    void StartGenerator(long position, bool twoHopPhase)
    {
        if (_data != null) Context.Stop(_data);
        var replica = _replica!;
        _data = Context.ActorOf(DataGeneratorActor.Props(() => replica.OpenBatchSource(twoHopPhase), position, _workers, _readAhead),
            $"data-{Run.Epoch}-{++_generation}");
        _data.Tell(new BatchRequest(_readAhead));
    }

    void OnEnded(Ended e)
    {
        var run = Run;
        string how;
        if (e.Outcome is { } o)
        {
            how = o.End.ToString().ToLowerInvariant();
            if (Leader) Context.Parent.Tell(o.End switch
            {
                RunEnd.Completed => new RunCompletedReport(run.RunId, run.Epoch, o.Step, o.Reason, o.ResultsSha256),
                RunEnd.Suspended => new RunStoppedReport(run.RunId, run.Epoch, o.Step, StopKind.Suspend),
                _ => (object)new RunStoppedReport(run.RunId, run.Epoch, o.Step, StopKind.Cancel),
            });
        }
        else if (_cancelAsked)
        {
            how = "cancelled";
            if (Leader) Context.Parent.Tell(new RunStoppedReport(run.RunId, run.Epoch, -1, StopKind.Cancel));
        }
        else
        {
            var error = e.Error is RunGroupAbortedException ? e.Error.Message : $"{e.Error!.GetType().Name}: {e.Error.Message}";
            how = $"failed: {error}";
            if (e.Error is not RunGroupAbortedException and not Model.Common.UserInputException)
                _log.Error(e.Error, "run={0} epoch={1} rank={2} failed", run.RunId, run.Epoch, _job!.Rank);
            // the other ranks must not wait for this one
            _job!.Group.Abort($"rank {_job.Rank} failed: {error}");
            if (Leader) Context.Parent.Tell(new RunFailedReport(run.RunId, run.Epoch, error));
        }
        _log.Info("run={0} epoch={1} rank={2} slot={3} event=ended how=\"{4}\"", run.RunId, run.Epoch, _job!.Rank, _slot, how);
        if (_data != null) Context.Stop(_data);
        _data = null;
        _feed = null;
        _replica = null;
        _cancel?.Dispose();
        _cancel = null;
        Context.Parent.Tell(new SlotFreed(_slot, run.RunId, run.Epoch));
        _job = null;
        Become(Idle);
    }

    protected override void PostStop()
    {
        // the loop ends on its own and closes the replica; nothing here waits for it
        _cancel?.Cancel();
        _job?.Group.Abort("the trainer stopped");
    }

    static Exception Unwrap(Exception e) => e is AggregateException { InnerException: { } inner } ? Unwrap(inner) : e;

    /// <summary>The session's reports, on its thread, as messages to the actor (rank 0 only; progress at most once a second).</summary>
    sealed class Observer(IActorRef trainer, Assign job) : IRunObserver
    {
        readonly Stopwatch _sinceProgress = Stopwatch.StartNew();

        public void Started(long step, string? resumedFrom)
        {
            if (job.Rank == 0) trainer.Tell(new Observed(new RunStartedReport(job.Run.RunId, job.Run.Epoch, step)));
        }

        public void Stepped(TrainProgress p)
        {
            if (job.Rank != 0 || _sinceProgress.Elapsed < TimeSpan.FromSeconds(1)) return;
            _sinceProgress.Restart();
            trainer.Tell(new Observed(new RunProgress(job.Run.RunId, job.Run.Epoch, p.Last.Step, p.Last.Loss, p.StepsPerSecond)));
        }

        public void Evaluated(EvalReport report)
        {
            if (job.Rank != 0) return;
            trainer.Tell(new Observed(new RunEvaluated(job.Run.RunId, job.Run.Epoch, report.Step,
                report.Modes.ToImmutableSortedDictionary(m => m.Mode.Name(), m => m.Loss))));
        }

        public void Checkpointed(CheckpointRef checkpoint, string dir, double trainLoss)
        {
            if (job.Rank == 0) trainer.Tell(new Observed(new CheckpointReport(job.Run.RunId, job.Run.Epoch, checkpoint.Step, checkpoint.Sha256, trainLoss)));
        }
    }
}
