using ActorLab.Actors.Training;
using ActorLab.Model.Training;

namespace ActorLab.Actors.DataPlane;

/// <summary>
/// A run group's reduction across nodes over the data plane: it joins the lease's ring at the first reduction (by
/// then every node has opened its replica and computed a first gradient), then sums through the ring connection,
/// the group's agreements riding on each step's frames. Ending it retires the lease's epoch on this node's listener.
/// </summary>
public sealed class RingReduce(DataPlaneListener listener, RingSpec spec, int position, TimeSpan connectTimeout) : ICrossNodeReduce
{
    readonly CancellationTokenSource _cancel = new();
    readonly object _gate = new();
    RingConnection? _ring;
    string? _aborted;

    public (RunStop Stop, bool TwoHop) AllReduceSum(float[] buffer, int count, RunStop stop, bool twoHop, TimeSpan deadline)
    {
        var ring = _ring ?? Join();
        var agreed = ring.AllReduceSum(buffer, count, new RingFlags((int)stop, twoHop), deadline);
        return ((RunStop)Math.Clamp(agreed.Stop, 0, (int)RunStop.Cancel), agreed.TwoHop);
    }

    RingConnection Join()
    {
        RingConnection ring;
        try { ring = listener.JoinAsync(spec, position, connectTimeout, _cancel.Token).GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { throw new RunGroupAbortedException(_aborted ?? "the run's group was aborted while joining its ring"); }
        catch (DataPlaneRefusedException e) { throw new RunGroupAbortedException($"data plane: {e.Message}"); }
        lock (_gate)
        {
            if (_aborted != null)
            {
                ring.Dispose();
                throw new RunGroupAbortedException(_aborted);
            }
            _ring = ring;
        }
        return ring;
    }

    bool _disposed;

    public void Abort(string reason)
    {
        lock (_gate)
        {
            if (_disposed) return;
            _aborted ??= reason;
            _ring?.Abort(reason);
            _cancel.Cancel();
        }
    }

    public void Dispose()
    {
        Abort("the run ended on this node");
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _ring?.Dispose();
        }
        listener.Retire(spec.RunId, spec.Epoch);
    }
}
