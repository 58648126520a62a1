using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>Why a run's replicas stop; when several are asked, the higher wins (cancel, then suspend, then complete).</summary>
public enum RunStop { None = 0, Complete = 1, Suspend = 2, Cancel = 3 }

/// <summary>
/// The replicas of one data-parallel run, as one replica sees them: the gradient all-reduce, plus agreements
/// that ride on each step's reduction so every replica acts after the same step: when to stop, and when the
/// curriculum enters its 2-hop phase. A request made by any replica is agreed at the next reduction; with one
/// replica it is agreed at once. In-process (<c>RunGroup</c>) and cross-node implementations sit behind it.
/// </summary>
public interface IReplicaGroup : IGradientExchange
{
    int Rank { get; }
    int WorldSize { get; }
    bool IsLeader => Rank == 0;

    void RequestStop(RunStop stop);
    /// <summary>The stop all replicas agreed on (None: keep training).</summary>
    RunStop AgreedStop { get; }

    void RequestTwoHopPhase();
    bool AgreedTwoHopPhase { get; }
}

/// <summary>A run on one replica: nothing to exchange, every request agreed at once.</summary>
public sealed class SingleReplica(bool twoHopPhase = false) : IReplicaGroup
{
    RunStop _stop;

    public int Rank => 0;
    public int WorldSize => 1;

    public void AllReduce(IReadOnlyList<Tensor> grads) { }

    public void RequestStop(RunStop stop)
    {
        lock (this) if (stop > _stop) _stop = stop;
    }

    public RunStop AgreedStop
    {
        get { lock (this) return _stop; }
    }

    public void RequestTwoHopPhase() => AgreedTwoHopPhase = true;
    public bool AgreedTwoHopPhase { get; private set; } = twoHopPhase;
}
