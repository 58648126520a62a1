using System.Diagnostics;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Actors.Data;

/// <summary>
/// The <see cref="IBatchFeed"/> of a trainer actor: its run session takes batches here (on the session's thread)
/// while the actor puts in what its <see cref="DataGeneratorActor"/> delivers. Taking one asks the actor for one
/// more (pull); a restart (curriculum switch) drops what was made ahead and asks the actor for a new generator.
/// A generator failure makes the next take throw, so a run never waits forever for data.
/// </summary>
public sealed class ActorBatchFeed(long position, Action consumed, Action<long, bool> restart) : IBatchFeed
{
    readonly object _gate = new();
    readonly SortedDictionary<long, TokenBatch> _ready = new();
    readonly Stopwatch _wait = new();
    long _next = position;
    string? _failed;

    /// <summary>The actor puts a generator's batch in (only the current generator's).</summary>
    public void Deliver(long index, TokenBatch batch)
    {
        lock (_gate)
        {
            if (index < _next) return;
            _ready[index] = batch;
            Monitor.PulseAll(_gate);
        }
    }

    public void Fail(string error)
    {
        lock (_gate)
        {
            _failed ??= error;
            Monitor.PulseAll(_gate);
        }
    }

    public TokenBatch Take(CancellationToken cancel)
    {
        TokenBatch batch;
        lock (_gate)
        {
            _wait.Start();
            try
            {
                while (!_ready.Remove(_next, out batch!))
                {
                    if (_failed != null) throw new InvalidOperationException($"data generator: {_failed}");
                    cancel.ThrowIfCancellationRequested();
                    Monitor.Wait(_gate, 100);
                }
            }
            finally { _wait.Stop(); }
            _next++;
        }
        consumed();
        return batch;
    }

    public void Restart(long newPosition, bool twoHopPhase)
    {
        lock (_gate)
        {
            _ready.Clear();
            _next = newPosition;
        }
        restart(newPosition, twoHopPhase);
    }

    public TimeSpan WaitTime
    {
        get { lock (_gate) return _wait.Elapsed; }
    }

    public void Dispose() => Fail("the feed was closed");
}
