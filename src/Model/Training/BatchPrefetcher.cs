using System.Collections.Concurrent;
using System.Diagnostics;
using ActorLab.Model.Qa;

namespace ActorLab.Model.Training;

/// <summary>
/// Builds training batches on a background thread, a few ahead of the trainer, so the trainer never waits on the
/// data stream (the feed of `actorlab train`). <see cref="Restart"/> repositions the stream (resume, curriculum
/// switch) and discards what was built ahead. <see cref="WaitTime"/> is how long the trainer waited in <see cref="Take"/>.
/// </summary>
public sealed class BatchPrefetcher : IBatchFeed
{
    readonly QaStream stream;
    readonly int depth;
    BlockingCollection<TokenBatch>? queue;
    CancellationTokenSource? cts;
    Task? worker;
    readonly Stopwatch wait = new();

    public BatchPrefetcher(QaStream stream, int depth = 4)
    {
        this.stream = stream;
        this.depth = depth;
        Start();
    }

    public TimeSpan WaitTime => wait.Elapsed;

    void Start()
    {
        var q = queue = new BlockingCollection<TokenBatch>(depth);
        var c = cts = new CancellationTokenSource();
        worker = Task.Factory.StartNew(() =>
        {
            try
            {
                while (!c.IsCancellationRequested) q.Add(stream.Next(), c.Token);
            }
            catch (OperationCanceledException) { }
            finally { q.CompleteAdding(); }
        }, TaskCreationOptions.LongRunning);
    }

    void Stop()
    {
        cts?.Cancel();
        try { worker?.Wait(); }
        catch (AggregateException) { /* a stream failure surfaces in Take */ }
        queue?.Dispose();
        cts?.Dispose();
    }

    /// <summary>The next batch; rethrows a failure of the stream.</summary>
    public TokenBatch Take(CancellationToken cancel = default)
    {
        wait.Start();
        try
        {
            if (queue!.TryTake(out var b, Timeout.Infinite, cancel)) return b;
            worker!.GetAwaiter().GetResult();
            throw new InvalidOperationException("batch stream ended");
        }
        finally { wait.Stop(); }
    }

    /// <summary>Discards batches built ahead, then continues at batch <paramref name="position"/> in that curriculum phase.</summary>
    public void Restart(long position, bool twoHopPhase)
    {
        Stop();
        stream.Seek(position);
        stream.SetCurriculumPhase(twoHopPhase);
        Start();
    }

    public void Dispose() => Stop();
}
