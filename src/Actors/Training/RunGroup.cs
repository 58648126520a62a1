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
/// The cross-node leg of a run group's all-reduce: the sum of each node's ranks, summed again across the run's
/// nodes (the data plane's ring between node leaders; a later NCCL path fits the same seam), with the group's
/// stop and 2-hop requests agreed on the way (the highest stop, 2-hop if any node asks).
/// </summary>
public interface ICrossNodeReduce : IDisposable
{
    (RunStop Stop, bool TwoHop) AllReduceSum(float[] buffer, int count, RunStop stop, bool twoHop, TimeSpan deadline);

    /// <summary>Fails the reduction in progress (and every later one) on every node.</summary>
    void Abort(string reason);
}

/// <summary>
/// The ranks of one data-parallel run on one node: an in-process all-reduce (a barrier whose last arriver averages
/// the buffers) plus the agreements of <see cref="IReplicaGroup"/>: a stop or the curriculum's 2-hop phase asked of
/// any rank is published in the barrier's post-phase, so every rank sees it after the same step and replicas
/// never diverge. World size 1 needs no barrier: requests are agreed at once. <see cref="ForRank"/> gives each
/// rank its <see cref="IReplicaGroup"/> view. A cross-node run's group holds this node's ranks (global ranks
/// <see cref="FirstRank"/> on): the post-phase sums them, sums that across the nodes (<see cref="ICrossNodeReduce"/>)
/// with the agreements riding along, then divides by the world size, so the average is the in-node one's.
/// </summary>
public sealed class RunGroup : IAllReduce, IDisposable
{
    readonly Barrier? _barrier;
    readonly IReadOnlyList<float[]>?[] _deposits;
    readonly CancellationTokenSource _abort = new();
    readonly object _gate = new();
    readonly ICrossNodeReduce? _across;
    readonly Func<TimeSpan, TimeSpan> _deadline;
    readonly StepTimes _steps = new();
    float[][] _mean = [];
    RunStop _pendingStop, _agreedStop;
    bool _pendingTwoHop;
    volatile bool _agreedTwoHop;
    string? _abortReason;

    public RunGroup(string runId, long epoch, int worldSize, bool twoHopPhase = false)
        : this(runId, epoch, worldSize, 0, worldSize, null, null, twoHopPhase) { }

    /// <param name="localRanks">This node's ranks of the run.</param>
    /// <param name="firstRank">The global rank of this node's first one.</param>
    /// <param name="worldSize">Ranks of the run on all nodes.</param>
    /// <param name="across">The reduction across nodes (null: every rank is here).</param>
    /// <param name="deadline">A step's deadline from the median step time (null: one day).</param>
    public RunGroup(string runId, long epoch, int localRanks, int firstRank, int worldSize, ICrossNodeReduce? across,
        Func<TimeSpan, TimeSpan>? deadline = null, bool twoHopPhase = false)
    {
        if (localRanks < 1) throw new ArgumentOutOfRangeException(nameof(localRanks));
        if (firstRank < 0 || firstRank + localRanks > worldSize) throw new ArgumentOutOfRangeException(nameof(firstRank));
        if (across == null && localRanks != worldSize) throw new ArgumentException("ranks on other nodes need a cross-node reduction", nameof(across));
        RunId = runId;
        Epoch = epoch;
        LocalRanks = localRanks;
        FirstRank = firstRank;
        WorldSize = worldSize;
        _across = across;
        _deadline = deadline ?? (_ => TimeSpan.FromDays(1));
        _pendingTwoHop = _agreedTwoHop = twoHopPhase;
        _deposits = new IReadOnlyList<float[]>?[localRanks];
        if (worldSize > 1) _barrier = new Barrier(localRanks, _ => Reduce());
    }

    public string RunId { get; }
    public long Epoch { get; }
    public int LocalRanks { get; }
    public int FirstRank { get; }
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

    /// <param name="rank">The rank's index on this node (0 .. <see cref="LocalRanks"/> - 1).</param>
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

    /// <summary>
    /// Runs once per step on the last rank to arrive: the sum of this node's buffers, summed across nodes for a
    /// cross-node run, then the mean, then publish the agreements. The sum is taken in rank order from zero, so a
    /// cross-node run of one rank per node averages bit for bit as the same ranks in one node do.
    /// </summary>
    void Reduce()
    {
        var first = _deposits[0]!;
        if (_mean.Length != first.Count || _mean.Where((m, i) => m.Length != first[i].Length).Any())
            _mean = first.Select(b => new float[b.Length]).ToArray();
        var scale = 1f / WorldSize;
        RunStop stop;
        bool twoHop;
        lock (_gate) (stop, twoHop) = (_pendingStop, _pendingTwoHop);
        var deadline = _deadline(_steps.Median());
        for (var i = 0; i < first.Count; i++)
        {
            var mean = _mean[i];
            Array.Clear(mean);
            for (var r = 0; r < LocalRanks; r++)
            {
                var src = _deposits[r]![i];
                if (src.Length != mean.Length) throw new InvalidOperationException($"rank {FirstRank + r} buffer {i} has {src.Length} values, rank {FirstRank} {mean.Length}");
                for (var j = 0; j < mean.Length; j++) mean[j] += src[j];
            }
            if (_across != null) (stop, twoHop) = _across.AllReduceSum(mean, mean.Length, stop, twoHop, deadline);
            for (var j = 0; j < mean.Length; j++) mean[j] *= scale;
        }
        _steps.Mark();
        lock (_gate)
        {
            // requests made during the reduction count at the next step (a stop once asked is not withdrawn)
            _agreedStop = stop;
            _agreedTwoHop = twoHop;
            if (stop > _pendingStop) _pendingStop = stop;
            _pendingTwoHop |= twoHop;
        }
    }

    /// <summary>Releases every rank waiting in the all-reduce with an error (a rank failed or the run ended).</summary>
    public void Abort(string reason)
    {
        lock (_gate)
        {
            if (_disposed) return;
            _abortReason ??= reason;
        }
        _abort.Cancel();
        _across?.Abort(reason);
    }

    public bool Aborted => _abort.IsCancellationRequested;

    /// <summary>The view of this node's rank <paramref name="local"/> (global rank <see cref="FirstRank"/> + local), for its run session.</summary>
    public IReplicaGroup ForRank(int local) => new Rank(this, local);

    bool _disposed;

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _abort.Cancel();
        _across?.Dispose();
        _barrier?.Dispose();
        _abort.Dispose();
    }

    /// <summary>The last steps' wall times (between reductions), for the step deadline.</summary>
    sealed class StepTimes
    {
        readonly Queue<TimeSpan> _last = new();
        readonly System.Diagnostics.Stopwatch _since = new();

        public void Mark()
        {
            if (_since.IsRunning)
            {
                _last.Enqueue(_since.Elapsed);
                if (_last.Count > 64) _last.Dequeue();
            }
            _since.Restart();
        }

        /// <summary>Zero until a step was timed.</summary>
        public TimeSpan Median()
        {
            if (_last.Count == 0) return TimeSpan.Zero;
            var sorted = _last.Order().ToArray();
            return sorted[sorted.Length / 2];
        }
    }

    /// <summary>
    /// One rank's side of the group: model gradients go through one flat fp32 host tensor and its array, both made
    /// once (gradients are gathered into the tensor, copied to the array in one go, and back after the reduction).
    /// </summary>
    sealed class Rank(RunGroup group, int rank) : IReplicaGroup
    {
        float[] _flat = [];
        Tensor? _host;

        int IReplicaGroup.Rank => group.FirstRank + rank;
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
            if (_flat.Length != total)
            {
                _flat = new float[total];
                _host?.Dispose();
                // kept across steps: out of the step's dispose scope
                _host = torch.empty(total, ScalarType.Float32, CPU).DetachFromDisposeScope();
            }
            using (torch.no_grad())
            {
                long offset = 0;
                foreach (var g in grads)
                {
                    using var slot = _host!.narrow(0, offset, g.numel());
                    using var flat = g.detach().reshape(-1);
                    slot.copy_(flat);
                    offset += g.numel();
                }
                _host!.data<float>().CopyTo(_flat);
                group.AllReduceMean(rank, [_flat]);
                _host.data<float>().CopyFrom(_flat);
                offset = 0;
                foreach (var g in grads)
                {
                    using var slot = _host.narrow(0, offset, g.numel());
                    using var mean = slot.view(g.shape);
                    g.copy_(mean);
                    offset += g.numel();
                }
            }
        }
    }
}

/// <summary>The run's group cannot go on (a rank failed, the run ended, or the data plane between nodes broke).</summary>
public class RunGroupAbortedException(string message) : Exception(message);
