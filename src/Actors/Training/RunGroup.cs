using ActorLab.Model.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Actors.Training;

/// <summary>Averages gradient buffers across the ranks of a data-parallel run (in place, every rank gets the mean).</summary>
public interface IAllReduce
{
    int WorldSize { get; }
    void AllReduceMean(int rank, IReadOnlyList<float[]> buffers);
}

/// <summary>
/// The ranks of one data-parallel run on one node: an in-process all-reduce (a barrier whose last arriver averages
/// the buffers) plus the agreements of <see cref="IReplicaGroup"/>: a stop or the curriculum's 2-hop phase asked of
/// any rank is published in the barrier's post-phase, so every rank sees it after the same step and replicas
/// never diverge. World size 1 needs no barrier: requests are agreed at once. <see cref="ForRank"/> gives each
/// rank its <see cref="IReplicaGroup"/> view; a cross-node version implements the same seam over sockets.
/// </summary>
public sealed class RunGroup : IAllReduce, IDisposable
{
    readonly Barrier? _barrier;
    readonly IReadOnlyList<float[]>?[] _deposits;
    readonly CancellationTokenSource _abort = new();
    readonly object _gate = new();
    float[][] _mean = [];
    RunStop _pendingStop, _agreedStop;
    bool _pendingTwoHop;
    volatile bool _agreedTwoHop;
    string? _abortReason;

    public RunGroup(string runId, long epoch, int worldSize, bool twoHopPhase = false)
    {
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize));
        RunId = runId;
        Epoch = epoch;
        WorldSize = worldSize;
        _pendingTwoHop = _agreedTwoHop = twoHopPhase;
        _deposits = new IReadOnlyList<float[]>?[worldSize];
        if (worldSize > 1) _barrier = new Barrier(worldSize, _ => Reduce());
    }

    public string RunId { get; }
    public long Epoch { get; }
    public int WorldSize { get; }

    public RunStop AgreedStop
    {
        get { lock (_gate) return _agreedStop; }
    }

    public bool AgreedTwoHopPhase => _agreedTwoHop;

    public void RequestStop(RunStop stop)
    {
        lock (_gate)
        {
            // cancel beats suspend beats complete; a stop once asked is not withdrawn
            if (stop > _pendingStop) _pendingStop = stop;
            if (WorldSize == 1) _agreedStop = _pendingStop;
        }
    }

    public void RequestTwoHopPhase()
    {
        lock (_gate)
        {
            _pendingTwoHop = true;
            if (WorldSize == 1) _agreedTwoHop = true;
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

    /// <summary>Runs once per step on the last rank to arrive: mean of every rank's buffers, then publish the agreements.</summary>
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
        lock (_gate)
        {
            _agreedStop = _pendingStop;
            _agreedTwoHop = _pendingTwoHop;
        }
    }

    /// <summary>Releases every rank waiting in the all-reduce with an error (a rank failed or the run ended).</summary>
    public void Abort(string reason)
    {
        _abortReason ??= reason;
        _abort.Cancel();
    }

    public bool Aborted => _abort.IsCancellationRequested;

    /// <summary>Rank <paramref name="rank"/>'s view, for its run session.</summary>
    public IReplicaGroup ForRank(int rank) => new Rank(this, rank);

    public void Dispose()
    {
        _abort.Cancel();
        _barrier?.Dispose();
        _abort.Dispose();
    }

    /// <summary>One rank's side of the group: model gradients go through one flat fp32 buffer.</summary>
    sealed class Rank(RunGroup group, int rank) : IReplicaGroup
    {
        float[] _flat = [];

        int IReplicaGroup.Rank => rank;
        public int WorldSize => group.WorldSize;
        public void RequestStop(RunStop stop) => group.RequestStop(stop);
        public RunStop AgreedStop => group.AgreedStop;
        public void RequestTwoHopPhase() => group.RequestTwoHopPhase();
        public bool AgreedTwoHopPhase => group.AgreedTwoHopPhase;

        public void AllReduce(IReadOnlyList<Tensor> grads)
        {
            if (group.WorldSize == 1) return;
            long total = 0;
            foreach (var g in grads) total += g.numel();
            if (_flat.Length != total) _flat = new float[total];
            long offset = 0;
            foreach (var g in grads)
            {
                var n = (int)g.numel();
                using var cpu = g.detach().to(CPU).contiguous().reshape(-1);
                cpu.data<float>().CopyTo(_flat, (int)offset);
                offset += n;
            }
            group.AllReduceMean(rank, [_flat]);
            offset = 0;
            foreach (var g in grads)
            {
                var n = (int)g.numel();
                using var mean = torch.tensor(_flat.AsSpan((int)offset, n).ToArray(), g.shape).to(g.device);
                using (torch.no_grad()) g.copy_(mean);
                offset += n;
            }
        }
    }
}

/// <summary>The run's group cannot go on (a rank failed, the run ended, or the data plane between nodes broke).</summary>
public class RunGroupAbortedException(string message) : Exception(message);
