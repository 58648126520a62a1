using ActorLab.Model.Qa;

namespace ActorLab.Model.Training;

/// <summary>
/// Where a run session takes its training batches from, in stream order: a background prefetcher in
/// `actorlab train` (<see cref="BatchPrefetcher"/>), data-generator actors in a sweep. <see cref="Restart"/> drops
/// what was made ahead and continues at a stream position in a curriculum phase (resume, curriculum switch).
/// </summary>
public interface IBatchFeed : IDisposable
{
    /// <summary>The batch at the next stream position; waits for it, or throws when cancelled or the feed failed.</summary>
    TokenBatch Take(CancellationToken cancel);

    void Restart(long position, bool twoHopPhase);

    /// <summary>How long <see cref="Take"/> waited in all.</summary>
    TimeSpan WaitTime { get; }
}
