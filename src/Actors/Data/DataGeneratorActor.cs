using Akka.Actor;
using Akka.Event;
using ActorLab.Actors.Training;
using ActorLab.Model.Qa;

namespace ActorLab.Actors.Data;

/// <summary>
/// Streams one rank's TokenBatches to its trainer (the parent) in stream order, with backpressure: the trainer
/// pulls with <see cref="BatchRequest"/>, and at most read-ahead batches are made ahead of that demand. Several
/// workers (each its own <see cref="IBatchSource"/>) build batches in parallel on the thread pool.
/// </summary>
public sealed class DataGeneratorActor : ReceiveActor
{
    /// <summary>Sent to the parent when a batch cannot be made; the generator then stops.</summary>
    public sealed record DataFailed(string Error);

    sealed record Produced(long Index, int Worker, TokenBatch Batch);
    sealed record WorkerFailed(long Index, int Worker, Exception Error);

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly IBatchSource[] _sources;
    readonly bool[] _busy;
    readonly int _readAhead;
    readonly SortedDictionary<long, TokenBatch> _ready = new();
    long _nextToMake;
    long _nextToDeliver;
    int _inFlight;
    int _demand;

    public static Props Props(Func<IBatchSource> openSource, long startIndex, int workers, int readAhead) =>
        Akka.Actor.Props.Create(() => new DataGeneratorActor(openSource, startIndex, workers, readAhead));

    public DataGeneratorActor(Func<IBatchSource> openSource, long startIndex, int workers, int readAhead)
    {
        _sources = Enumerable.Range(0, Math.Max(1, workers)).Select(_ => openSource()).ToArray();
        _busy = new bool[_sources.Length];
        _readAhead = Math.Max(1, readAhead);
        _nextToMake = _nextToDeliver = startIndex;

        Receive<BatchRequest>(r =>
        {
            _demand += r.Count;
            Deliver();
            Fill();
        });
        Receive<Produced>(p =>
        {
            _busy[p.Worker] = false;
            _inFlight--;
            _ready[p.Index] = p.Batch;
            Deliver();
            Fill();
        });
        Receive<WorkerFailed>(f =>
        {
            _log.Error(f.Error, "batch {0} could not be made", f.Index);
            Context.Parent.Tell(new DataFailed($"batch {f.Index}: {f.Error.Message}"));
            Context.Stop(Self);
        });
    }

    void Deliver()
    {
        while (_demand > 0 && _ready.Remove(_nextToDeliver, out var batch))
        {
            Context.Parent.Tell(new BatchReady(_nextToDeliver, batch));
            _nextToDeliver++;
            _demand--;
        }
    }

    /// <summary>Start batches on idle workers while the buffer (ready + in flight) is under demand + read-ahead.</summary>
    void Fill()
    {
        for (var w = 0; w < _sources.Length; w++)
        {
            if (_busy[w]) continue;
            if (_ready.Count + _inFlight >= _demand + _readAhead) return;
            var index = _nextToMake++;
            var source = _sources[w];
            var worker = w;
            _busy[w] = true;
            _inFlight++;
            Task.Run(() => source.Get(index)).PipeTo(Self,
                success: b => new Produced(index, worker, b),
                failure: e => new WorkerFailed(index, worker, e is AggregateException { InnerException: { } inner } ? inner : e));
        }
    }

    protected override void PostStop()
    {
        foreach (var s in _sources)
        {
            try { s.Dispose(); } catch { /* a worker may still hold it; the run is over */ }
        }
    }
}
