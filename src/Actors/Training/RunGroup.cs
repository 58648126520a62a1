namespace ActorLab.Actors.Training;

/// <summary>Averages gradient buffers across the ranks of a data-parallel run (in place, every rank gets the mean).</summary>
public interface IAllReduce
{
    int WorldSize { get; }
    void AllReduceMean(int rank, IReadOnlyList<float[]> buffers);
}

/// <summary>Why a run's ranks stop; lower wins when several are asked (cancel, then suspend, then complete).</summary>
public enum GroupStop { Cancel, Suspend, Complete }

/// <summary>
/// The ranks of one data-parallel run on one node: an in-process all-reduce (a barrier whose last arriver
/// averages the buffers) plus agreement on when to stop. A stop asked of any rank is published at the next
/// barrier, so every rank stops after the same step and replicas never diverge. A cross-node version
/// implements <see cref="IAllReduce"/> over the wire. World size 1 needs no barrier: stops apply at once.
/// </summary>
public sealed class RunGroup : IAllReduce, IDisposable
{
    readonly Barrier? _barrier;
    readonly IReadOnlyList<float[]>?[] _deposits;
    readonly CancellationTokenSource _abort = new();
    float[][] _mean = [];
    GroupStop? _pending;
    volatile object? _agreed;   // boxed GroupStop, published in the barrier's post-phase action
    string? _abortReason;

    public RunGroup(string runId, long epoch, int worldSize)
    {
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize));
        RunId = runId;
        Epoch = epoch;
        WorldSize = worldSize;
        _deposits = new IReadOnlyList<float[]>?[worldSize];
        if (worldSize > 1) _barrier = new Barrier(worldSize, _ => Reduce());
    }

    public string RunId { get; }
    public long Epoch { get; }
    public int WorldSize { get; }

    /// <summary>The stop all ranks agreed on (null: keep training).</summary>
    public GroupStop? AgreedStop => (GroupStop?)_agreed;

    public void RequestStop(GroupStop stop)
    {
        lock (_deposits)
        {
            // cancel beats suspend beats complete; a stop once asked is not withdrawn
            if (_pending == null || stop < _pending) _pending = stop;
            if (WorldSize == 1) _agreed = _pending;
        }
    }

    public void AllReduceMean(int rank, IReadOnlyList<float[]> buffers)
    {
        if (_barrier == null) return;
        _deposits[rank] = buffers;
        try
        {
            _barrier.SignalAndWait(_abort.Token);
        }
        catch (OperationCanceledException)
        {
            throw new RunGroupAbortedException(_abortReason ?? "the run's group was aborted");
        }
        catch (BarrierPostPhaseException e)
        {
            throw new RunGroupAbortedException($"all-reduce failed: {e.InnerException?.Message}");
        }
        for (var i = 0; i < buffers.Count; i++) Array.Copy(_mean[i], buffers[i], buffers[i].Length);
    }

    /// <summary>Runs once per step on the last rank to arrive: mean of every rank's buffers, then publish the stop.</summary>
    void Reduce()
    {
        var first = _deposits[0]!;
        if (_mean.Length != first.Count || _mean.Where((m, i) => m.Length != first[i].Length).Any())
            _mean = first.Select(b => new float[b.Length]).ToArray();
        var scale = 1f / WorldSize;
        for (var i = 0; i < first.Count; i++)
        {
            var mean = _mean[i];
            Array.Clear(mean);
            for (var r = 0; r < WorldSize; r++)
            {
                var src = _deposits[r]![i];
                if (src.Length != mean.Length) throw new InvalidOperationException($"rank {r} buffer {i} has {src.Length} values, rank 0 {mean.Length}");
                for (var j = 0; j < mean.Length; j++) mean[j] += src[j];
            }
            for (var j = 0; j < mean.Length; j++) mean[j] *= scale;
        }
        lock (_deposits) _agreed = _pending;
    }

    /// <summary>Releases every rank waiting in the all-reduce with an error (a rank failed or the run ended).</summary>
    public void Abort(string reason)
    {
        _abortReason ??= reason;
        _abort.Cancel();
    }

    public bool Aborted => _abort.IsCancellationRequested;

    public void Dispose()
    {
        _abort.Cancel();
        _barrier?.Dispose();
        _abort.Dispose();
    }
}

public sealed class RunGroupAbortedException(string message) : Exception(message);
